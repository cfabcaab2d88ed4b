#include "deploy/stack/postgres.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <thread>

#include "deploy/stack/files.hpp"
#include "deploy/stack/net.hpp"
#include "deploy/stack/wait.hpp"

namespace chat::stack {
void hand_to(const std::filesystem::path& path, const std::string& user) {
    if (user.empty()) return;
    passwd* pw = ::getpwnam(user.c_str());
    if (pw == nullptr || ::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("cannot hand " + path.string() + " to user " + user);
}

namespace {

// Settings for a chat workload on a developer machine: many short write transactions
// from a few pooled connections (what deploy/dev.sh and bench/stack.sh used to set).
const std::vector<std::string> k_tuning = {
    "shared_buffers=256MB", "effective_cache_size=1GB", "work_mem=8MB",
    "maintenance_work_mem=128MB", "wal_buffers=16MB",
    "max_wal_size=2GB",  // fewer forced checkpoints under bursts
    "checkpoint_completion_target=0.9", "random_page_cost=1.1",
    // Inbox rows are inserted and deleted all the time: vacuum them early.
    "autovacuum_naptime=10s", "autovacuum_vacuum_scale_factor=0.05",
    "autovacuum_vacuum_insert_scale_factor=0.05", "log_min_duration_statement=500ms"};

}  // namespace

std::string postgres_user() {
    if (::geteuid() != 0) return "";
    if (::getpwnam("postgres") == nullptr)
        throw std::runtime_error("running as root and there is no 'postgres' user to run PostgreSQL as");
    return "postgres";
}

postgres_node::postgres_node(postgres_options options)
    : options_(std::move(options)), bin_dir_(postgres_bin_dir()), run_as_(postgres_user()) {
    create();
    start();
    wait_ready(std::chrono::seconds(60));
}

postgres_node::postgres_node(const nlohmann::json& state, bool detached)
    : bin_dir_(postgres_bin_dir()), run_as_(postgres_user()) {
    options_.dir = state.at("dir").get<std::string>();
    options_.port = state.at("port").get<std::uint16_t>();
    options_.name = state.at("name").get<std::string>();
    options_.primary_port = state.value("primary_port", 0);
    options_.detached = detached;
    data_dir_ = state.at("data_dir").get<std::string>();
    log_file_ = state.at("log").get<std::string>();
    auto argv = state.at("argv").get<std::vector<std::string>>();
    postmaster_ = std::make_unique<child_process>(
        argv, spawn_opts(),
        process_id{state.at("pid").get<pid_t>(), state.value("start_time", 0ULL)});
}

postgres_node::~postgres_node() {
    if (postmaster_ && postmaster_->released()) return;
    try {
        stop();
    } catch (...) {
    }
}

void postgres_node::create() {
    if (bin_dir_.empty()) throw std::runtime_error("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin");
    if (options_.port == 0) options_.port = free_port();
    std::filesystem::create_directories(options_.dir);
    if (log_file_.empty()) log_file_ = options_.dir / (options_.name + ".log");
    data_dir_ = options_.dir / (options_.name + "-data");
    if (!run_as_.empty()) {
        // The postgres user must reach the data directory. Below a directory closed to
        // other users (e.g. /root, mode 700) it goes to postgres's home instead, with a
        // symlink in its place: opening the user's directories would widen access to them.
        hand_to(options_.dir, run_as_);
        spawn_options probe;
        probe.cwd = "/";
        probe.run_as = run_as_;
        probe.log_file = "/dev/null";
        if (!std::filesystem::exists(data_dir_) &&
            run_command({"/usr/bin/test", "-x", options_.dir.string()}, probe) != 0) {
            passwd* pw = ::getpwnam(run_as_.c_str());
            auto home = std::filesystem::path(pw->pw_dir) /
                        ("chat-stack-" + std::to_string(std::hash<std::string>()(data_dir_.string())));
            std::filesystem::create_directories(home);
            std::filesystem::create_symlink(home, data_dir_);
        }
    }
    auto data = std::filesystem::canonical(std::filesystem::absolute(data_dir_).parent_path()) /
                data_dir_.filename();
    if (std::filesystem::is_symlink(data_dir_)) data = std::filesystem::read_symlink(data_dir_);
    if (std::filesystem::exists(data / "PG_VERSION")) return;  // made by an earlier run
    std::filesystem::create_directories(data);
    hand_to(data, run_as_);
    std::filesystem::permissions(data, std::filesystem::perms::owner_all);

    spawn_options options;
    options.cwd = "/";  // the postgres user may not be able to enter the current directory
    options.run_as = run_as_;
    options.log_file = options_.dir / (options_.name + "-init.log");
    std::vector<std::string> command;
    if (options_.primary_port == 0) {
        command = {(bin_dir_ / "initdb").string(), "-D", data.string(), "-U", "postgres",
                   "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"};
        if (!options_.durable) command.push_back("--no-sync");
    } else {
        // A copy of the primary that then follows it (standby.signal + primary_conninfo).
        command = {(bin_dir_ / "pg_basebackup").string(), "-h", "127.0.0.1", "-p",
                   std::to_string(options_.primary_port), "-U", "postgres", "-D", data.string(),
                   "-X", "stream", "-c", "fast"};
        if (!options_.durable) command.push_back("--no-sync");
    }
    int status = run_command(command, options, std::chrono::seconds(120));
    if (status != 0) {
        throw std::runtime_error(command[0] + " failed (exit " + std::to_string(status) + "):\n" +
                                 tail_file(options.log_file));
    }
    if (options_.primary_port != 0) {
        write_file(data / "standby.signal", "");
        write_file(data / "postgresql.auto.conf",
                   "primary_conninfo = 'host=127.0.0.1 port=" + std::to_string(options_.primary_port) +
                       " user=postgres application_name=" + options_.name + "'\n");
        hand_to(data / "standby.signal", run_as_);
        hand_to(data / "postgresql.auto.conf", run_as_);
    }
}

std::vector<std::string> postgres_node::argv() const {
    // Settings go on the command line, not into postgresql.conf, so a standby copied
    // from the primary does not inherit the primary's.
    std::vector<std::string> settings = {"listen_addresses=127.0.0.1", "max_connections=300",
                                         "log_line_prefix=%m [%p] %q%u@%d "};
    if (!options_.durable) {
        settings.insert(settings.end(), {"fsync=off", "full_page_writes=off", "shared_buffers=128MB"});
    }
    if (options_.tuned) settings.insert(settings.end(), k_tuning.begin(), k_tuning.end());
    settings.insert(settings.end(), options_.settings.begin(), options_.settings.end());
    std::vector<std::string> argv{(bin_dir_ / "postgres").string(), "-D",
                                  std::filesystem::weakly_canonical(data_dir_).string(), "-p",
                                  std::to_string(options_.port)};
    // The socket goes into the data directory when its path fits (107 bytes); clients use TCP.
    auto socket_dir = std::filesystem::weakly_canonical(data_dir_).string();
    argv.insert(argv.end(), {"-k", socket_dir.size() + 20 <= 107 ? socket_dir : ""});
    for (auto& s : settings) argv.insert(argv.end(), {"-c", s});
    return argv;
}

spawn_options postgres_node::spawn_opts() const {
    spawn_options options;
    options.cwd = "/";
    options.run_as = run_as_;
    options.log_file = log_file_;
    options.stop_signal = SIGINT;  // fast shutdown
    options.detached = options_.detached;
    return options;
}

void postgres_node::start() {
    if (!postmaster_) {
        postmaster_ = std::make_unique<child_process>(argv(), spawn_opts());
    } else {
        postmaster_->restart();
    }
}

bool postgres_node::accepts_queries() const {
    try {
        psql("SELECT 1");
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

void postgres_node::wait_ready(std::chrono::milliseconds timeout) {
    std::string last;
    bool up = wait_until(
        [&] {
            if (!postmaster_->running()) return true;
            try {
                psql("SELECT 1");
                return true;
            } catch (const std::exception& e) {
                last = e.what();
                return false;
            }
        },
        timeout, std::chrono::milliseconds(100));
    if (!up || !postmaster_->running()) {
        throw std::runtime_error("PostgreSQL " + options_.name + " on port " +
                                 std::to_string(options_.port) + " did not accept queries (last: " +
                                 last + ")\n" + postmaster_->describe());
    }
}

std::string postgres_node::url_for(const std::string& database) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(options_.port) + "/" + database;
}

std::string postgres_node::psql(const std::string& sql, const std::string& database) const {
    return stack::psql(url_for(database), sql, options_.dir);
}

void postgres_node::create_database(const std::string& name, bool migrate,
                                    const std::filesystem::path& chat_binary,
                                    const std::filesystem::path& migrations) {
    if (psql("SELECT count(*) FROM pg_database WHERE datname = '" + name + "'") == "0")
        psql("CREATE DATABASE " + name);
    if (migrate) stack::migrate(url_for(name), options_.dir / ("migrate-" + name + ".log"), chat_binary, migrations);
}

std::string psql(const std::string& url, const std::string& sql, const std::filesystem::path& work_dir) {
    static std::atomic<int> counter{0};
    std::filesystem::path program = postgres_bin_dir() / "psql";
    if (::access(program.c_str(), X_OK) != 0) program = find_program("psql");
    if (program.empty()) throw std::runtime_error("psql is not installed");
    spawn_options options;
    options.cwd = work_dir;
    options.log_file = work_dir / ("psql-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".out");
    options.env = {"PGOPTIONS=-c client_min_messages=warning", "PGCONNECT_TIMEOUT=3"};
    int status = run_command({program.string(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url,
                              "-c", sql},
                             options, std::chrono::seconds(60));
    std::string output = read_file(options.log_file);
    std::filesystem::remove(options.log_file);
    if (status != 0) throw std::runtime_error("psql failed on `" + sql + "`: " + output);
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return output;
}

void migrate(const std::string& url, const std::filesystem::path& log_file,
             const std::filesystem::path& chat_binary, const std::filesystem::path& migrations) {
    spawn_options options;
    options.log_file = log_file;
    auto chat = chat_binary.empty() ? binary("chat") : chat_binary;
    int status = run_command({chat.string(), "migrate", "--config",
                              (source_dir() / "deploy/config/logic.yaml").string(), "--set",
                              "postgres.url=" + url, "--migrations",
                              (migrations.empty() ? source_dir() / "migrations" : migrations).string()},
                             options);
    if (status != 0) {
        throw std::runtime_error("chat migrate failed (exit " + std::to_string(status) + "):\n" +
                                 tail_file(options.log_file));
    }
}

std::vector<process_id> postgres_node::backends() const {
    std::vector<process_id> found;
    pid_t parent = postmaster_->pid();
    std::error_code ec;
    for (auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const auto name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        pid_t pid = static_cast<pid_t>(std::stol(name));
        if (parent_pid(pid) != parent) continue;
        if (auto start = process_start_time(pid)) found.push_back({pid, *start});
    }
    return found;
}

void postgres_node::kill9(std::chrono::milliseconds backend_grace) {
    if (!postmaster_->running()) return;
    // The children are known only while the postmaster lives; afterwards they are
    // orphans of init. Pid plus start time identifies each, so a reused pid is never hit.
    auto children = backends();
    postmaster_->kill9();
    auto all_gone = [&] {
        for (auto& child : children)
            if (alive(child)) return false;
        return true;
    };
    if (!wait_until(all_gone, backend_grace, std::chrono::milliseconds(50))) {
        for (auto& child : children)
            if (alive(child)) ::kill(child.pid, SIGKILL);
        wait_until(all_gone, std::chrono::seconds(5), std::chrono::milliseconds(50));
    }
}

void postgres_node::stop() {
    if (postmaster_) postmaster_->stop(std::chrono::seconds(20));
}

void postgres_node::restart(std::chrono::milliseconds timeout) {
    if (postmaster_->running()) throw std::logic_error("postgres_node::restart: still running");
    auto deadline = std::chrono::steady_clock::now() + timeout;
    // A start can fail while the old shared memory is still attached by a slow orphan:
    // try again until the deadline.
    while (true) {
        start();
        try {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            wait_ready(std::max(left, std::chrono::milliseconds(500)));
            return;
        } catch (const std::exception&) {
            if (std::chrono::steady_clock::now() >= deadline) throw;
            postmaster_->kill9();
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
        }
    }
}

void postgres_node::set_synchronous_standby(const std::string& standby) {
    psql("ALTER SYSTEM SET synchronous_standby_names = '" + standby + "'");
    psql("SELECT pg_reload_conf()");
}

nlohmann::json postgres_node::to_json() const {
    return {{"name", options_.name},
            {"role", standby() ? "standby" : "primary"},
            {"port", options_.port},
            {"primary_port", options_.primary_port},
            {"url", url_for("postgres")},
            {"pid", postmaster_->pid()},
            {"start_time", postmaster_->id().start_time},
            {"dir", options_.dir.string()},
            {"data_dir", data_dir_.string()},
            {"log", log_file_.string()},
            {"argv", postmaster_->argv()}};
}

}  // namespace chat::stack
