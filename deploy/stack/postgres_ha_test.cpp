// PostgreSQL with automatic failover (postgres_ha, pg_auto_failover) in a whole system:
// the standby is synchronous, the services connect as their roles with passwords, and
// when the primary's keeper group is SIGKILLed mid-writes the monitor promotes the
// standby, every acknowledged row is on it, and the old primary rejoins as standby.
// The same through the chat-stack command: detached, then adopted by kill, start and
// down. About a minute and a half in all (label ha; `ctest -LE ha` leaves them out).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <thread>

#include "deploy/stack/files.hpp"
#include "deploy/stack/process.hpp"
#include "deploy/stack/roles.hpp"
#include "deploy/stack/system.hpp"
#include "deploy/stack/wait.hpp"

using namespace chat::stack;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// Timings go to stdout (ctest -V shows them): a Catch WARN would repeat the INFO logs.
#define REPORT(what)                                              \
    do {                                                          \
        std::ostringstream report_;                               \
        report_ << what;                                          \
        std::printf("ha-test: %s\n", report_.str().c_str());     \
        std::fflush(stdout);                                      \
    } while (false)

/// Inserts accounts one commit at a time through the multi-host read-write URL, as
/// logic's role, reconnecting whenever the connection breaks; remembers each nickname
/// whose commit was acknowledged, and when.
class writer {
  public:
    explicit writer(std::string url) : url_(std::move(url)), thread_([this] { run(); }) {}
    ~writer() { stop(); }

    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::size_t acknowledged() {
        std::lock_guard lock(mutex_);
        return acked_.size();
    }
    std::set<std::string> acked() {
        std::lock_guard lock(mutex_);
        return acked_;
    }
    /// When the first commit after `since` was acknowledged.
    std::optional<steady::time_point> first_ack_after(steady::time_point since) {
        std::lock_guard lock(mutex_);
        for (auto& t : times_)
            if (t > since) return t;
        return std::nullopt;
    }
    int failures() const { return failures_; }

  private:
    void run() {
        std::unique_ptr<pqxx::connection> conn;
        for (int i = 0; !stop_; ++i) {
            const std::string nick = "ha-" + std::to_string(i);
            try {
                if (!conn) conn = std::make_unique<pqxx::connection>(url_);
                pqxx::work tx(*conn);
                tx.exec_params("INSERT INTO accounts (nickname) VALUES ($1)", nick);
                tx.commit();
                std::lock_guard lock(mutex_);
                acked_.insert(nick);
                times_.push_back(steady::now());
            } catch (const std::exception&) {
                // The primary is gone (or this is the standby): a fresh connection finds
                // whichever node takes writes now. The nickname's fate is unknown, so it is
                // not counted; the next row gets a new one.
                ++failures_;
                conn.reset();
                std::this_thread::sleep_for(50ms);
            }
        }
    }

    std::string url_;
    std::atomic<bool> stop_{false};
    std::atomic<int> failures_{0};
    std::mutex mutex_;
    std::set<std::string> acked_;
    std::vector<steady::time_point> times_;
    std::thread thread_;
};

std::set<std::string> stored_on(postgres_ha& ha, const std::string& node, const std::filesystem::path& dir) {
    std::set<std::string> out;
    auto rows = psql(ha.admin_url(node, "chat"), "SELECT nickname FROM accounts WHERE nickname LIKE 'ha-%'", dir);
    std::istringstream in(rows);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.insert(line);
    return out;
}

}  // namespace

TEST_CASE("pg_auto_failover: synchronous standby, failover without losing a commit, rejoin", "[ha]") {
    const auto started = steady::now();
    options o;
    o.postgres_ha = true;
    o.pg_fast_failover = true;
    o.sets = {"log.level=warn"};
    o.ready_timeout = 60s;
    chat::stack::system s(o);
    INFO(s.logs(10));
    auto& ha = *s.ha();
    const auto up = std::chrono::duration<double>(steady::now() - started).count();
    REPORT("system with pg_auto_failover up in " << up << " s");

    // Synchronous: the primary waits for the standby (quorum of one).
    const auto first = ha.primary();
    REQUIRE(first);
    const std::string other = *first == "pg-1" ? "pg-2" : "pg-1";
    CHECK(*first == "pg-1");
    const auto names = psql(ha.admin_url(*first), "SHOW synchronous_standby_names", s.dir());
    INFO(names);
    CHECK(names.rfind("ANY 1 (", 0) == 0);
    CHECK(psql(ha.admin_url(*first), "SELECT sync_state FROM pg_stat_replication", s.dir()) == "quorum");
    CHECK(psql(ha.admin_url(other), "SELECT pg_is_in_recovery()", s.dir()) == "t");

    // Services and writers use passwords: the roles cannot log in without one.
    CHECK(s.role_url(k_logic_role).find("target_session_attrs=read-write") != std::string::npos);
    CHECK(s.role_url(k_logic_role).find("passfile=") != std::string::npos);
    CHECK_THROWS(pqxx::connection("postgresql://chat_logic@127.0.0.1:" + std::to_string(ha.port(*first)) +
                                  "/chat?passfile=/nonexistent"));

    writer w(s.role_url(k_logic_role));
    REQUIRE(wait_until([&] { return w.acknowledged() >= 200; }, 30s));

    // Kill the primary's keeper with its postgres, mid-writes.
    const auto killed_at = steady::now();
    s.kill9(*first);
    REQUIRE(wait_until([&] { return ha.primary() == other; }, 60s, 100ms));
    const auto promoted = std::chrono::duration<double>(steady::now() - killed_at).count();
    REQUIRE(wait_until([&] { return w.first_ack_after(killed_at).has_value(); }, 30s));
    const auto writable = std::chrono::duration<double>(*w.first_ack_after(killed_at) - killed_at).count();
    const auto before = w.acknowledged();
    REQUIRE(wait_until([&] { return w.acknowledged() >= before + 100; }, 30s));
    w.stop();
    REPORT("failover: " << other << " promoted " << promoted << " s after the kill; first write acknowledged after "
                      << writable << " s; " << w.acknowledged() << " rows acknowledged, " << w.failures()
                      << " failed attempts");
    CHECK(writable < 30);

    // Every acknowledged commit is on the new primary.
    const auto acked = w.acked();
    const auto on_new = stored_on(ha, other, s.dir());
    std::size_t missing = 0;
    for (auto& nick : acked) missing += on_new.count(nick) == 0;
    CHECK(missing == 0);

    // The old primary, started again, rejoins as standby of the new one, and the system
    // (services included) is whole again.
    const auto restarted_at = steady::now();
    s.start(*first);
    CHECK(s.wait_ready(120s) == "");
    REPORT("rejoin: " << *first << " secondary again after "
                    << std::chrono::duration<double>(steady::now() - restarted_at).count() << " s");
    CHECK(ha.primary() == other);
    for (auto& n : ha.nodes()) {
        if (n.name == *first) CHECK(n.reported == "secondary");
    }
    // ... with every row (replayed from the new primary).
    std::set<std::string> on_old;
    CHECK(wait_until([&] { return (on_old = stored_on(ha, *first, s.dir())) == on_new; }, 20s, 200ms));
    REPORT("ha test took " << std::chrono::duration<double>(steady::now() - started).count() << " s");
}

TEST_CASE("chat-stack up --postgres-ha leaves pg_auto_failover running, then kill, start and down adopt it",
          "[ha]") {
    // A directory closed to other users (mkdtemp's 0700), as a checkout under /root is:
    // as root, the HA data go to postgres's home, with a symlink here.
    temp_dir dir("chat-stack-ha-cli");
    const auto state_dir = (dir / "system").string();
    auto chat_stack = [&](std::vector<std::string> args, const std::string& log) {
        spawn_options options;
        options.log_file = dir / log;
        args.insert(args.begin(), binary("chat-stack").string());
        return run_command(args, options, 240s);
    };
    REQUIRE(chat_stack({"up", "--dir", state_dir, "--only", "postgres", "--postgres-ha", "--fast-failover", "--json"},
                       "up.json") == 0);
    auto state = nlohmann::json::parse(read_file(dir / "up.json"));
    INFO(state.dump(2));
    REQUIRE(state["postgres_ha"]["members"].size() == 3);
    CHECK(state["postgres_ha_status"]["primary"] == "pg-1");
    CHECK(state["postgres"].empty());
    std::vector<process_id> keepers;
    for (auto& m : state["postgres_ha"]["members"]) keepers.push_back({m["pid"], m["start_time"]});
    for (auto& k : keepers) CHECK(alive(k));
    CHECK(std::filesystem::exists(std::filesystem::path(state_dir) / "pg-2.pid"));
    // The passwords stay in the passfile: neither argv nor the URLs hold one.
    const auto passfile = state["passfile"].get<std::string>();
    CHECK((std::filesystem::status(passfile).permissions() & std::filesystem::perms::group_all) ==
          std::filesystem::perms::none);
    CHECK(state.dump().find(read_file(passfile).substr(read_file(passfile).rfind(':') + 1, 16)) == std::string::npos);

    // kill: the whole keeper group of the primary; the monitor promotes pg-2.
    CHECK(chat_stack({"kill", "--dir", state_dir, "pg-1"}, "kill.log") == 0);
    CHECK_FALSE(alive(keepers[1]));
    CHECK(chat_stack({"status", "--dir", state_dir}, "status-down.log") == 3);
    auto primary = [&] {
        chat_stack({"status", "--dir", state_dir, "--json"}, "status.json");
        auto now = nlohmann::json::parse(read_file(dir / "status.json"), nullptr, false);
        std::filesystem::remove(dir / "status.json");
        return now.is_object() ? now["postgres_ha_status"].value("primary", nlohmann::json()).dump() : "";
    };
    CHECK(wait_until([&] { return primary() == "\"pg-2\""; }, 60s, 500ms));
    // start: pg-1 rejoins as secondary before the command returns.
    CHECK(chat_stack({"start", "--dir", state_dir, "pg-1"}, "start.log") == 0);
    CHECK(chat_stack({"status", "--dir", state_dir}, "status.log") == 0);
    CHECK(read_file(dir / "status.log").find("(secondary)") != std::string::npos);

    CHECK(chat_stack({"down", "--dir", state_dir}, "down.log") == 0);
    state = nlohmann::json::parse(read_file(dir / "up.json"));
    for (auto& k : keepers) CHECK_FALSE(alive(k));
    CHECK_FALSE(std::filesystem::exists(std::filesystem::path(state_dir) / "state.json"));
    for (auto& m : state["postgres_ha"]["members"])
        CHECK_FALSE(group_alive(m["pid"].get<pid_t>()));
    // As root the data went to postgres's home (this temp dir is closed to others); the
    // temp dir takes only the symlink with it.
    const auto ha_dir = std::filesystem::path(state_dir) / "postgres-ha";
    if (::geteuid() == 0) {
        REQUIRE(std::filesystem::is_symlink(ha_dir));
        std::filesystem::remove_all(std::filesystem::read_symlink(ha_dir));
    }
}
