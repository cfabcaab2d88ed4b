#include "deploy/stack/postgres_ha.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <functional>
#include <sstream>
#include <stdexcept>

#include "deploy/stack/files.hpp"
#include "deploy/stack/net.hpp"
#include "deploy/stack/postgres.hpp"
#include "deploy/stack/wait.hpp"

namespace chat::stack {
namespace {

constexpr const char* k_pg_autoctl = "/usr/bin/pg_autoctl";
const char* const k_node_names[] = {"pg-1", "pg-2"};

// The monitor's settings for --fast-failover (defaults in parentheses; pg_autoctl(5)).
// A dead primary is noticed after about a second and a half of failed health checks and
// three without a report from its keeper, and the standby waits 4 s (not 30) for the old
// primary to demote itself before it takes over.
const std::vector<std::string> k_fast_monitor = {
    "pgautofailover.health_check_period = 1000",              // ms (5000)
    "pgautofailover.health_check_timeout = 1000",             // ms, connect timeout (5000)
    "pgautofailover.health_check_max_retries = 1",            // (2)
    "pgautofailover.health_check_retry_delay = 500",          // ms (2000)
    "pgautofailover.node_considered_unhealthy_timeout = 3000",  // ms since the keeper's last report (20000)
    "pgautofailover.primary_demote_timeout = 4000",           // ms (30000)
    "pgautofailover.startup_grace_period = 2000",             // ms (10000)
};
// ... and each keeper's: a primary cut off from the monitor and the standby for 2 s (20)
// demotes itself, well before the standby's 4 s demote timeout runs out.
const std::vector<std::pair<std::string, std::string>> k_fast_keeper = {
    {"timeout.network_partition_timeout", "2"},
    {"timeout.postgresql_restart_failure_timeout", "5"},
};

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string part; std::getline(in, part, sep);) out.push_back(part);
    return out;
}

}  // namespace

void postgres_ha::place_where_postgres_reaches() {
    // The postgres user must reach everything here. Below a directory closed to other
    // users (e.g. /root, mode 700) it goes to postgres's home instead, with a symlink in
    // its place, as postgres_node does with its data: opening the user's directories
    // would widen access to them.
    if (run_as_.empty() || std::filesystem::exists(options_.dir)) return;
    const auto parent = std::filesystem::absolute(options_.dir).parent_path();
    std::filesystem::create_directories(parent);
    spawn_options probe;
    probe.cwd = "/";
    probe.run_as = run_as_;
    probe.log_file = "/dev/null";
    if (run_command({"/usr/bin/test", "-x", parent.string()}, probe) == 0) return;
    const passwd* pw = ::getpwnam(run_as_.c_str());
    if (pw == nullptr) throw std::runtime_error("no user " + run_as_);
    const auto home = std::filesystem::path(pw->pw_dir) /
                      ("chat-stack-ha-" + std::to_string(std::hash<std::string>()(
                                              std::filesystem::absolute(options_.dir).string())));
    std::filesystem::create_directories(home);
    hand_to(home, run_as_);
    std::filesystem::create_directory_symlink(home, options_.dir);
}

postgres_ha::postgres_ha(postgres_ha_options options)
    : options_(std::move(options)), bin_dir_(postgres_bin_dir()), run_as_(postgres_user()) {
    if (::access(k_pg_autoctl, X_OK) != 0)
        throw std::runtime_error("pg_auto_failover is not installed (apt-get install postgresql-15-auto-failover)");
    if (bin_dir_.empty()) throw std::runtime_error("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin");
    place_where_postgres_reaches();
    std::filesystem::create_directories(options_.dir);
    options_.dir = std::filesystem::canonical(options_.dir);
    for (const char* sub : {"", "config", "share", "run"}) {
        std::filesystem::create_directories(options_.dir / sub);
        hand_to(options_.dir / sub, run_as_);
    }
    // pg_autoctl keeps each member's port in its config: data made earlier keep theirs.
    const auto ports_file = options_.dir / "ports.json";
    auto kept = nlohmann::json::parse(read_file(ports_file), nullptr, false);
    auto port = [&](const std::string& name, std::uint16_t wanted) -> std::uint16_t {
        if (kept.is_object() && kept.contains(name)) return kept[name].get<std::uint16_t>();
        return wanted != 0 ? wanted : free_port();
    };
    members_.push_back({k_monitor, port(k_monitor, options_.monitor_port), options_.dir / k_monitor, nullptr});
    for (int i = 0; i < 2; ++i)
        members_.push_back({k_node_names[i], port(k_node_names[i], options_.node_ports[i]),
                            options_.dir / k_node_names[i], nullptr});
    nlohmann::json ports;
    for (auto& m : members_) ports[m.name] = m.port;
    write_file(ports_file, ports.dump() + "\n");
    try {
        auto& monitor = members_[0];
        const bool fresh = !std::filesystem::exists(members_[1].data / "PG_VERSION");
        spawn(monitor, !std::filesystem::exists(monitor.data / "PG_VERSION"));
        wait_answers(monitor, std::chrono::seconds(90));
        if (options_.fast_failover) apply_fast_failover();
        // pg-1 first, so that it is the primary pg-2 is cloned from.
        spawn(members_[1], fresh);
        if (fresh) {
            bool single = wait_until(
                [&] {
                    for (auto& n : nodes())
                        if (n.name == members_[1].name && n.reported == "single") return true;
                    return !members_[1].keeper->running();
                },
                std::chrono::seconds(120), std::chrono::milliseconds(250));
            if (!single || !members_[1].keeper->running())
                throw std::runtime_error("pg_auto_failover: pg-1 did not become a single primary\n" + logs());
        }
        spawn(members_[2], !std::filesystem::exists(members_[2].data / "PG_VERSION"));
        wait_healthy(std::chrono::seconds(180));
        if (options_.fast_failover) {
            for (auto* m : {&members_[1], &members_[2]}) {
                for (auto& [key, value] : k_fast_keeper) {
                    spawn_options opts = spawn_opts(*m);
                    opts.log_file = options_.dir / "pg_autoctl-config.log";
                    run_command({k_pg_autoctl, "config", "set", "--pgdata", m->data.string(), key, value}, opts);
                }
                m->keeper->signal(SIGHUP);  // pg_autoctl reload
            }
        }
    } catch (...) {
        shutdown();
        throw;
    }
}

postgres_ha::postgres_ha(const nlohmann::json& state, bool detached)
    : bin_dir_(postgres_bin_dir()), run_as_(postgres_user()) {
    options_.dir = state.at("dir").get<std::string>();
    options_.fast_failover = state.value("fast_failover", false);
    options_.detached = detached;
    for (auto& m : state.at("members")) {
        member one{m.at("name").get<std::string>(), m.at("port").get<std::uint16_t>(),
                   m.at("data").get<std::string>(), nullptr};
        one.keeper = std::make_unique<child_process>(
            run_argv(one), spawn_opts(one),
            process_id{m.at("pid").get<pid_t>(), m.value("start_time", 0ULL)});
        members_.push_back(std::move(one));
    }
}

postgres_ha::~postgres_ha() {
    for (auto& m : members_)
        if (m.keeper && m.keeper->released()) return;
    try {
        shutdown();
    } catch (...) {
    }
}

std::vector<std::string> postgres_ha::names() const {
    std::vector<std::string> out;
    for (auto& m : members_) out.push_back(m.name);
    return out;
}

postgres_ha::member& postgres_ha::get(const std::string& name) {
    for (auto& m : members_)
        if (m.name == name) return m;
    throw std::invalid_argument("no pg_auto_failover member named " + name);
}

const postgres_ha::member& postgres_ha::get(const std::string& name) const {
    return const_cast<postgres_ha*>(this)->get(name);
}

child_process* postgres_ha::keeper(const std::string& name) {
    for (auto& m : members_)
        if (m.name == name) return m.keeper.get();
    return nullptr;
}

std::uint16_t postgres_ha::port(const std::string& name) const { return get(name).port; }

std::vector<std::string> postgres_ha::create_argv(const member& m) const {
    std::vector<std::string> argv{k_pg_autoctl, "create", m.name == k_monitor ? "monitor" : "postgres",
                                  "--pgdata", m.data.string(), "--pgport", std::to_string(m.port),
                                  "--hostname", "127.0.0.1", "--pgctl", (bin_dir_ / "pg_ctl").string(),
                                  // pg_autoctl's own connections (the monitor's health checks,
                                  // replication) stay inside loopback; the chat roles need a
                                  // password (require_passwords).
                                  "--auth", "trust", "--no-ssl"};
    if (m.name != k_monitor)
        argv.insert(argv.end(), {"--listen", "127.0.0.1", "--name", m.name, "--monitor", monitor_url()});
    argv.push_back("--run");
    return argv;
}

std::vector<std::string> postgres_ha::run_argv(const member& m) const {
    return {k_pg_autoctl, "run", "--pgdata", m.data.string()};
}

spawn_options postgres_ha::spawn_opts(const member& m) const {
    spawn_options opts;
    opts.cwd = "/";
    opts.run_as = run_as_;
    opts.log_file = options_.dir / (m.name + ".log");
    opts.stop_signal = SIGINT;  // pg_autoctl's fast shutdown
    opts.detached = options_.detached;
    // pg_autoctl keeps its config and state under XDG_* (else in the home of whoever
    // started it, root's when we are root) and finds pg_ctl and friends on PATH; initdb
    // takes its encoding from the locale.
    opts.env = {"PATH=" + bin_dir_.string() + ":/usr/bin:/bin",
                "HOME=" + options_.dir.string(),
                "XDG_CONFIG_HOME=" + (options_.dir / "config").string(),
                "XDG_DATA_HOME=" + (options_.dir / "share").string(),
                "XDG_RUNTIME_DIR=" + (options_.dir / "run").string(),
                "LANG=C.UTF-8",
                "LC_ALL=C.UTF-8",
                "PGCONNECT_TIMEOUT=5"};
    return opts;
}

void postgres_ha::spawn(member& m, bool create) {
    m.keeper = std::make_unique<child_process>(create ? create_argv(m) : run_argv(m), spawn_opts(m));
}

std::string postgres_ha::monitor_url() const {
    return "postgres://autoctl_node@127.0.0.1:" + std::to_string(members_.at(0).port) + "/pg_auto_failover";
}

std::string postgres_ha::admin_url(const std::string& name, const std::string& database) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(get(name).port) + "/" + database;
}

std::string postgres_ha::url(const std::string& database, const std::string& role,
                             const std::filesystem::path& passfile) const {
    std::string url = "postgresql://" + role + "@127.0.0.1:" + std::to_string(members_[1].port) +
                      ",127.0.0.1:" + std::to_string(members_[2].port) + "/" + database +
                      "?target_session_attrs=read-write&connect_timeout=5";
    if (!passfile.empty()) url += "&passfile=" + passfile.string();
    return url;
}

void postgres_ha::wait_answers(const member& m, std::chrono::milliseconds timeout) {
    std::string last;
    bool up = wait_until(
        [&] {
            if (!m.keeper->running()) return true;
            try {
                psql(admin_url(m.name), "SELECT 1", options_.dir);
                return true;
            } catch (const std::exception& e) {
                last = e.what();
                return false;
            }
        },
        timeout, std::chrono::milliseconds(250));
    if (!up || !m.keeper->running())
        throw std::runtime_error("pg_auto_failover: " + m.name + " does not answer (" + last + ")\n" +
                                 m.keeper->describe());
}

void postgres_ha::apply_fast_failover() {
    for (auto& setting : k_fast_monitor) {
        auto eq = setting.find(" = ");
        psql(admin_url(k_monitor), "ALTER SYSTEM SET " + setting.substr(0, eq) + " = " + setting.substr(eq + 3),
             options_.dir);
    }
    psql(admin_url(k_monitor), "SELECT pg_reload_conf()", options_.dir);
}

std::vector<ha_node_state> postgres_ha::nodes() {
    std::vector<ha_node_state> out;
    std::string rows;
    try {
        rows = psql(admin_url(k_monitor, "pg_auto_failover"),
                    "SELECT nodename, nodeport, reportedstate, goalstate, health FROM pgautofailover.node "
                    "ORDER BY nodeid",
                    options_.dir);
    } catch (const std::exception&) {
        return out;
    }
    for (auto& line : split(rows, '\n')) {
        auto f = split(line, '|');
        if (f.size() < 5) continue;
        out.push_back({f[0], static_cast<std::uint16_t>(std::stoi(f[1])), f[2], f[3], std::stoi(f[4])});
    }
    return out;
}

std::optional<std::string> postgres_ha::primary() {
    for (auto& n : nodes()) {
        const bool writes = n.reported == "primary" || n.reported == "single" || n.reported == "wait_primary";
        if (writes && n.goal == n.reported) return n.name;
    }
    return std::nullopt;
}

std::string postgres_ha::unhealthy() {
    auto all = nodes();
    if (all.size() != 2) return "the monitor knows " + std::to_string(all.size()) + " node(s)";
    std::string primary, secondary, states;
    for (auto& n : all) {
        states += n.name + " " + n.reported + "/" + n.goal + " ";
        if (n.reported == "primary" && n.goal == "primary") primary = n.name;
        if (n.reported == "secondary" && n.goal == "secondary") secondary = n.name;
    }
    if (primary.empty() || secondary.empty()) return "states (reported/assigned): " + states;
    try {
        auto streaming = psql(admin_url(primary),
                              "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' "
                              "AND sync_state IN ('sync', 'quorum')",
                              options_.dir);
        if (streaming != "1") return primary + " has no synchronous standby streaming";
    } catch (const std::exception& e) {
        return primary + " does not answer: " + e.what();
    }
    return "";
}

void postgres_ha::wait_healthy(std::chrono::milliseconds timeout) {
    std::string missing;
    bool ok = wait_until(
        [&] {
            missing = unhealthy();
            return missing.empty();
        },
        timeout, std::chrono::milliseconds(250));
    if (!ok) throw std::runtime_error("pg_auto_failover is not healthy: " + missing + "\n" + logs());
}

void postgres_ha::kill9(const std::string& name) {
    auto& m = get(name);
    const pid_t group = m.keeper->pid();
    if (m.keeper->running()) ::kill(-group, SIGKILL);
    m.keeper->kill9();  // reaps it when it is our child
    wait_until([&] { return !group_alive(group); }, std::chrono::seconds(10), std::chrono::milliseconds(20));
}

void postgres_ha::stop(const std::string& name) {
    auto& m = get(name);
    const pid_t group = m.keeper->pid();
    m.keeper->stop(std::chrono::seconds(30));
    if (!wait_until([&] { return !group_alive(group); }, std::chrono::seconds(10), std::chrono::milliseconds(20)))
        ::kill(-group, SIGKILL);
}

void postgres_ha::start(const std::string& name) {
    auto& m = get(name);
    if (m.keeper->running()) return;
    spawn(m, false);
}

void postgres_ha::require_passwords(const std::vector<std::string>& roles) {
    std::string list;
    for (auto& r : roles) list += (list.empty() ? "" : ",") + r;
    const std::string rule = "host all " + list + " 127.0.0.1/32 scram-sha-256";
    for (auto* name : k_node_names) {
        auto hba = get(name).data / "pg_hba.conf";
        auto text = read_file(hba);
        if (text.find(rule) != std::string::npos) continue;
        // First: pg_hba.conf takes the first line that matches, and initdb's (pg_autoctl
        // runs it with --auth=trust) trust loopback.
        write_file(hba, "# chat-stack: the chat roles need their password over TCP\n" + rule + "\n" + text);
        if (get(name).keeper->running()) psql(admin_url(name), "SELECT pg_reload_conf()", options_.dir);
    }
}

nlohmann::json postgres_ha::state() {
    nlohmann::json j;
    auto all = nodes();
    auto now_primary = primary();
    j["primary"] = now_primary ? nlohmann::json(*now_primary) : nlohmann::json(nullptr);
    j["members"] = nlohmann::json::array();
    for (auto& m : members_) {
        nlohmann::json one{{"name", m.name},
                           {"port", m.port},
                           {"pid", m.keeper->pid()},
                           {"running", m.keeper->running()},
                           {"log", m.keeper->log_file().string()}};
        if (m.name == k_monitor) one["role"] = "monitor";
        for (auto& n : all) {
            if (n.name != m.name) continue;
            one["reported"] = n.reported;
            one["assigned"] = n.goal;
            one["health"] = n.health;
            one["role"] = n.reported;
        }
        j["members"].push_back(one);
    }
    j["replication"] = nlohmann::json::array();
    if (now_primary) {
        try {
            auto rows = psql(admin_url(*now_primary),
                             "SELECT application_name, state, sync_state FROM pg_stat_replication", options_.dir);
            for (auto& line : split(rows, '\n')) {
                auto f = split(line, '|');
                if (f.size() == 3) j["replication"].push_back({{"standby", f[0]}, {"state", f[1]}, {"sync_state", f[2]}});
            }
            j["synchronous_standby_names"] = psql(admin_url(*now_primary), "SHOW synchronous_standby_names", options_.dir);
        } catch (const std::exception&) {
        }
    }
    return j;
}

nlohmann::json postgres_ha::to_json() const {
    nlohmann::json j{{"dir", options_.dir.string()}, {"fast_failover", options_.fast_failover}};
    j["members"] = nlohmann::json::array();
    for (auto& m : members_)
        j["members"].push_back({{"name", m.name},
                                {"port", m.port},
                                {"data", m.data.string()},
                                {"log", m.keeper->log_file().string()},
                                {"pid", m.keeper->pid()},
                                {"start_time", m.keeper->id().start_time},
                                {"argv", m.keeper->argv()}});
    return j;
}

void postgres_ha::release() {
    for (auto& m : members_)
        if (m.keeper) m.keeper->release();
}

void postgres_ha::shutdown() {
    // The standby, then the primary (the monitor must not promote the standby of a
    // primary we stop), then the monitor (a keeper without it keeps asking for it).
    auto first = primary();
    std::vector<std::string> order;
    for (auto* name : k_node_names)
        if (name != first) order.push_back(name);
    if (first) order.push_back(*first);
    order.push_back(k_monitor);
    for (auto& name : order) {
        auto* k = keeper(name);
        if (k != nullptr && k->running()) stop(name);
    }
}

std::string postgres_ha::logs(std::size_t lines) {
    std::string text;
    for (auto& m : members_)
        if (m.keeper) text += m.keeper->describe(lines) + "\n";
    return text;
}

}  // namespace chat::stack
