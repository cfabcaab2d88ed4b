#include "support/postgres_cluster.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/file_util.hpp"
#include "support/free_port.hpp"
#include "support/paths.hpp"
#include "support/skip.hpp"
#include "support/wait.hpp"

namespace chat::test {
namespace {

// PITFALLS: /usr/local/bin/initdb and friends may exist and belong to no package.
std::filesystem::path server_bin_dir() {
    for (const char* version : {"15", "16", "17", "14", "13"}) {
        std::filesystem::path dir = std::string("/usr/lib/postgresql/") + version + "/bin";
        if (::access((dir / "initdb").c_str(), X_OK) == 0) return dir;
    }
    return {};
}

// Field 4 (ppid) and field 22 (start time) of /proc/PID/stat; the command name in
// field 2 may hold spaces and parentheses, so parsing starts after its last ')'.
bool read_stat(pid_t pid, pid_t& ppid, unsigned long long& start_time) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos) return false;
    std::istringstream fields(text.substr(close + 2));
    std::string state;
    fields >> state >> ppid;
    std::string skip;
    for (int field = 5; field < 22; ++field) fields >> skip;  // fields 5..21
    fields >> start_time;
    return static_cast<bool>(fields);
}

bool same_process_alive(pid_t pid, unsigned long long start_time) {
    pid_t ppid = 0;
    unsigned long long now_start = 0;
    return read_stat(pid, ppid, now_start) && now_start == start_time;
}

}  // namespace

postgres_cluster::postgres_cluster(const std::filesystem::path& log_dir)
    : work_("chat-faults-pg", /*keepable=*/false),
      bin_dir_(server_bin_dir()),
      data_dir_(work_ / "data"),
      log_file_(log_dir / "postgres.log") {
    if (bin_dir_.empty()) skip_test("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin");
    if (::geteuid() == 0) {
        // initdb and postgres refuse to run as root.
        passwd* pw = ::getpwnam("postgres");
        if (pw == nullptr)
            skip_test("running as root and there is no 'postgres' user to run PostgreSQL as");
        run_as_ = "postgres";
        if (::chown(work_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
            skip_test("cannot hand " + work_.path().string() + " to the postgres user");
    }
    spawn_options options;
    options.cwd = work_.path();  // the postgres user may not be able to enter the source tree
    options.run_as = run_as_;
    options.log_file = work_ / "initdb.log";
    int status = run_command({(bin_dir_ / "initdb").string(), "-D", data_dir_.string(), "-U",
                              "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"},
                             options);
    if (status != 0) {
        skip_test("initdb failed (exit " + std::to_string(status) + "):\n" +
                  tail_file(options.log_file));
    }
    port_ = free_port();
    start();
    wait_ready(std::chrono::seconds(30));
}

postgres_cluster::~postgres_cluster() {
    try {
        stop();
    } catch (...) {
    }
}

void postgres_cluster::start() {
    spawn_options options;
    options.cwd = work_.path();
    options.run_as = run_as_;
    options.log_file = log_file_;
    options.stop_signal = SIGINT;  // fast shutdown
    // fsync off survives a killed process (see the header); synchronous_commit stays on,
    // so code 0 still means the commit reached the kernel.
    std::vector<std::string> argv{(bin_dir_ / "postgres").string(),
                                  "-D",
                                  data_dir_.string(),
                                  "-p",
                                  std::to_string(port_),
                                  "-k",
                                  work_.path().string(),
                                  "-c",
                                  "listen_addresses=127.0.0.1",
                                  "-c",
                                  "fsync=off",
                                  "-c",
                                  "full_page_writes=off",
                                  "-c",
                                  "max_connections=300",
                                  "-c",
                                  "shared_buffers=128MB",
                                  "-c",
                                  "log_line_prefix=%m [%p] "};
    if (!postmaster_) {
        postmaster_ = std::make_unique<child_process>(std::move(argv), options);
    } else {
        postmaster_->restart();
    }
}

void postgres_cluster::wait_ready(std::chrono::milliseconds timeout) {
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
        throw std::runtime_error("PostgreSQL on port " + std::to_string(port_) +
                                 " did not accept queries (last: " + last + ")\n" +
                                 postmaster_->describe());
    }
}

std::string postgres_cluster::url_for(const std::string& database) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string postgres_cluster::psql(const std::string& sql, const std::string& database) const {
    static std::atomic<int> counter{0};
    std::filesystem::path program = bin_dir_ / "psql";
    if (::access(program.c_str(), X_OK) != 0) program = find_program("psql");
    if (program.empty()) throw std::runtime_error("psql is not installed");
    spawn_options options;
    options.cwd = work_.path();
    options.log_file = work_ / ("psql-" + std::to_string(counter++) + ".out");
    options.env = {"PGOPTIONS=-c client_min_messages=warning", "PGCONNECT_TIMEOUT=3"};
    int status = run_command({program.string(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                              "-d", url_for(database), "-c", sql},
                             options, std::chrono::seconds(30));
    std::string output = read_file(options.log_file);
    std::filesystem::remove(options.log_file);
    if (status != 0) throw std::runtime_error("psql failed on `" + sql + "`: " + output);
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return output;
}

void postgres_cluster::create_database(const std::string& name, bool migrate,
                                       const std::filesystem::path& chat_binary) {
    psql("CREATE DATABASE " + name);
    if (!migrate) return;
    // `chat migrate` reads postgres.url from a logic config; the other keys only have
    // to be valid.
    auto config = work_ / ("migrate-" + name + ".yaml");
    write_file(config,
               "logic:\n  workers: 1\n  dialogue_batch_max: 64\n"
               "presence:\n  broker_timeout: 5s\n  sweep_interval: 1s\n"
               "nats:\n  url: nats://127.0.0.1:4222\n"
               "postgres:\n  url: " +
                   url_for(name) + "\nlog:\n  level: info\n");
    spawn_options options;
    options.log_file = work_ / ("migrate-" + name + ".log");
    auto chat = chat_binary.empty() ? binary("chat") : chat_binary;
    int status = run_command({chat.string(), "migrate", "--config", config.string(), "--migrations",
                              (source_dir() / "migrations").string()},
                             options);
    if (status != 0) {
        throw std::runtime_error("chat migrate failed (exit " + std::to_string(status) + "):\n" +
                                 tail_file(options.log_file));
    }
}

std::vector<std::pair<pid_t, unsigned long long>> postgres_cluster::backends() const {
    std::vector<std::pair<pid_t, unsigned long long>> found;
    pid_t parent = postmaster_->pid();
    std::error_code ec;
    for (auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const auto name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        pid_t pid = static_cast<pid_t>(std::stol(name));
        pid_t ppid = 0;
        unsigned long long start_time = 0;
        if (read_stat(pid, ppid, start_time) && ppid == parent) found.emplace_back(pid, start_time);
    }
    return found;
}

void postgres_cluster::kill9(std::chrono::milliseconds backend_grace) {
    if (!postmaster_->running()) return;
    // The children are known only while the postmaster lives; afterwards they are
    // orphans of init. Pid plus start time identifies each, so a reused pid is never hit.
    auto children = backends();
    postmaster_->kill9();
    auto all_gone = [&] {
        for (auto& [pid, start] : children)
            if (same_process_alive(pid, start)) return false;
        return true;
    };
    if (!wait_until(all_gone, backend_grace, std::chrono::milliseconds(50))) {
        for (auto& [pid, start] : children)
            if (same_process_alive(pid, start)) ::kill(pid, SIGKILL);
        wait_until(all_gone, std::chrono::seconds(5), std::chrono::milliseconds(50));
    }
}

void postgres_cluster::stop() {
    if (postmaster_) postmaster_->stop(std::chrono::seconds(20));
}

void postgres_cluster::restart(std::chrono::milliseconds timeout) {
    if (postmaster_->running()) throw std::logic_error("postgres_cluster::restart: still running");
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

}  // namespace chat::test
