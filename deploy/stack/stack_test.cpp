// chat_stack's own checks: the process and server helpers, a whole system with a NATS
// cluster, a PostgreSQL standby and two of each service (killed and restarted one at a
// time), and the chat-stack command's detached mode.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "deploy/stack/files.hpp"
#include "deploy/stack/monitoring.hpp"
#include "deploy/stack/nats.hpp"
#include "deploy/stack/net.hpp"
#include "deploy/stack/process.hpp"
#include "deploy/stack/roles.hpp"
#include "deploy/stack/system.hpp"
#include "deploy/stack/wait.hpp"

using namespace chat::stack;
using namespace std::chrono_literals;

TEST_CASE("free_port gives distinct bindable ports", "[stack]") {
    auto a = free_port();
    auto b = free_port();
    CHECK(a > 0);
    CHECK(b > 0);
    CHECK_FALSE(port_accepts(a));
}

TEST_CASE("a chat-stack --set goes to the services whose config has the key, else those with its section", "[stack]") {
    const auto configs = std::filesystem::path(CHAT_SOURCE_DIR) / "deploy/config";
    std::string assignment;
    // Logic and the dispatcher have an http section too, but only the broker this key.
    CHECK(kinds_for("http.allowed_origins=[]", configs, assignment) == std::vector{service_kind::broker});
    CHECK(assignment == "http.allowed_origins=[]");
    CHECK(kinds_for("http.port=0", configs, assignment) ==
          std::vector{service_kind::logic, service_kind::dispatcher});
    CHECK(kinds_for("log.level=warn", configs, assignment).size() == 3);
    // A key no shipped config spells out goes where its section is.
    CHECK(kinds_for("http.unheard_of=1", configs, assignment) ==
          std::vector{service_kind::broker, service_kind::logic, service_kind::dispatcher});
    CHECK(kinds_for("logic:http.port=5", configs, assignment) == std::vector{service_kind::logic});
    CHECK(assignment == "http.port=5");
    CHECK_THROWS_AS(kinds_for("nosuch.key=1", configs, assignment), std::invalid_argument);
}

TEST_CASE("prometheus.yml lists every instance under its job, named, with the rules and the interval", "[stack]") {
    monitoring_options o;
    o.port = 9090;
    o.scrape_interval = std::chrono::seconds(3);
    o.config_dir = "/src/deploy/prometheus";
    o.services = {{"chat-broker", "broker-b1", 8081}, {"chat-broker", "broker-b2", 8082},
                  {"chat-logic", "logic-1", 18301}, {"chat-logic", "logic-2", 18303},
                  {"chat-dispatcher", "dispatcher-1", 18302}};
    o.databases = {{"pg-1", "postgresql://postgres@127.0.0.1:15432/postgres", 9187},
                   {"pg-2", "postgresql://postgres@127.0.0.1:15433/postgres", 9188}};
    const auto text = prometheus_config(o);
    CHECK(text.find("  scrape_interval: 3s\n") != std::string::npos);
    CHECK(text.find("  - \"/src/deploy/prometheus/alerts.yml\"\n") != std::string::npos);
    const auto broker_job = text.find("job_name: \"chat-broker\"");
    const auto logic_job = text.find("job_name: \"chat-logic\"");
    REQUIRE(broker_job != std::string::npos);
    REQUIRE(logic_job != std::string::npos);
    // Both brokers in the broker job, each with its name.
    for (const auto* line : {"      - targets: [\"127.0.0.1:8081\"]\n        labels: {name: \"broker-b1\"}\n",
                             "      - targets: [\"127.0.0.1:8082\"]\n        labels: {name: \"broker-b2\"}\n"}) {
        const auto at = text.find(line);
        CHECK(at > broker_job);
        CHECK((at < logic_job || logic_job < broker_job));
    }
    for (const auto* target : {"127.0.0.1:18303\"]\n        labels: {name: \"logic-2\"}",
                               "127.0.0.1:9188\"]\n        labels: {name: \"pg-2\"}",
                               "job_name: \"postgres\"", "job_name: \"prometheus\"", "127.0.0.1:9090"})
        CHECK(text.find(target) != std::string::npos);
    CHECK(exporter_url("postgresql://postgres@127.0.0.1:5/postgres") ==
          "postgresql://postgres@127.0.0.1:5/postgres?sslmode=disable");
    CHECK(exporter_url("postgresql://h/db?x=1") == "postgresql://h/db?x=1&sslmode=disable");
    CHECK(exporter_url("postgresql://h/db?sslmode=require") == "postgresql://h/db?sslmode=require");
}

TEST_CASE("role URLs: the user replaced, the passfile added, hosts and parameters kept", "[stack]") {
    CHECK(url_as("postgresql://postgres@127.0.0.1:5/chat", "chat_logic", "/d/secrets/pgpass") ==
          "postgresql://chat_logic@127.0.0.1:5/chat?passfile=/d/secrets/pgpass");
    CHECK(url_as("postgresql://127.0.0.1:5/chat?connect_timeout=3", "chat_logic", "/a b/pgpass") ==
          "postgresql://chat_logic@127.0.0.1:5/chat?connect_timeout=3&passfile=/a%20b/pgpass");
    CHECK(url_as("postgresql://u:pw@127.0.0.1:5,127.0.0.1:6/chat?target_session_attrs=read-write", "chat_owner", "") ==
          "postgresql://chat_owner@127.0.0.1:5,127.0.0.1:6/chat?target_session_attrs=read-write");
    CHECK(url_with_database("postgresql://postgres@127.0.0.1:5/postgres?x=1", "chat") ==
          "postgresql://postgres@127.0.0.1:5/chat?x=1");
    CHECK(url_with_database("postgresql://postgres@127.0.0.1:5", "chat") == "postgresql://postgres@127.0.0.1:5/chat");
}

TEST_CASE("role_secrets makes a private passfile once and reads it again", "[stack]") {
    temp_dir dir;
    std::string logic;
    {
        role_secrets first(dir / "secrets");
        logic = first.password(k_logic_role);
        CHECK(logic.size() == 48);  // random_secret(): 192 bits in hex
        CHECK(first.password(k_dispatcher_role) != logic);
        CHECK((std::filesystem::status(first.passfile()).permissions() &
               (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) == std::filesystem::perms::none);
        CHECK(read_file(first.passfile()).find("*:*:*:chat_logic:" + logic + "\n") != std::string::npos);
    }
    role_secrets again(dir / "secrets");
    CHECK(again.password(k_logic_role) == logic);
}

TEST_CASE("child_process logs output, reports exit status and stops", "[stack]") {
    temp_dir dir;
    spawn_options options;
    options.log_file = dir / "echo.log";
    CHECK(run_command({"/bin/sh", "-c", "echo hello; exit 3"}, options) == 3);
    CHECK(read_file(options.log_file) == "hello\n");

    options.log_file = dir / "sleep.log";
    child_process sleeper({"/bin/sleep", "30"}, options);
    CHECK(sleeper.running());
    CHECK_FALSE(sleeper.wait_exit(100ms).has_value());
    auto status = sleeper.stop(2s);
    REQUIRE(status.has_value());
    CHECK(*status == 128 + SIGTERM);
    CHECK_FALSE(sleeper.running());

    // A process that ignores SIGTERM is SIGKILLed after the grace period.
    child_process stubborn({"/bin/sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"},
                           options);
    std::this_thread::sleep_for(100ms);
    status = stubborn.stop(300ms);
    REQUIRE(status.has_value());
    CHECK(*status == 128 + SIGKILL);
}

TEST_CASE("nats_server starts, dies and restarts on the same port", "[stack]") {
    temp_dir dir;
    nats_server nats(dir.path());
    auto port = nats.port();
    CHECK(port_accepts(port));
    auto varz = nats.monitor("/varz");
    REQUIRE(varz.is_object());
    CHECK(varz.value("port", 0) == port);

    nats.kill9();
    CHECK_FALSE(port_accepts(port));
    nats.restart();
    CHECK(nats.port() == port);
    CHECK(port_accepts(port));
}

TEST_CASE("a system with a NATS cluster, a standby and two of each service survives kills",
          "[stack]") {
    options o;
    o.nats_nodes = 2;
    o.standby = true;
    o.brokers = 2;
    o.logics = 2;
    o.dispatchers = 2;
    o.sets = {"log.level=warn"};
    chat::stack::system s(o);
    INFO(s.logs(10));

    // What runs where.
    auto state = s.state();
    REQUIRE(state["postgres"].size() == 2);
    CHECK(state["postgres"][0]["role"] == "primary");
    CHECK(state["postgres"][1]["role"] == "standby");
    CHECK(s.postgres(1).psql("SELECT pg_is_in_recovery()") == "t");
    REQUIRE(state["nats"].size() == 2);
    for (std::size_t i = 0; i < s.nats_count(); ++i) CHECK(s.nats(i).routes() == 1);
    REQUIRE(state["services"].size() == 6);
    std::set<std::uint16_t> ports;
    for (auto& svc : state["services"]) {
        CHECK(svc["running"] == true);
        CHECK(alive({svc["pid"].get<pid_t>(), svc["start_time"].get<unsigned long long>()}));
        if (svc["kind"] == "broker") ports.insert(svc["port"].get<std::uint16_t>());
    }
    CHECK(ports.size() == 2);
    CHECK(s.names().size() == 10);

    // kill -9 and start again, one of each; the system must be whole after each.
    for (const std::string name : {"nats-2", "broker-b2", "logic-1", "dispatcher-2", "postgres"}) {
        INFO(name);
        auto* before = &s;
        s.kill9(name);
        CHECK_FALSE(s.dead_processes().empty());
        s.start(name);
        auto missing = s.wait_ready(40s);
        CHECK(missing == "");
        CHECK(before == &s);
    }
    // SIGTERM too, for a service.
    s.stop("logic-2");
    s.start("logic-2");
    CHECK(s.wait_ready(30s) == "");

    // A write on the primary reaches the standby.
    auto& primary = s.postgres(0);
    primary.psql("CREATE TABLE stack_probe (x int); INSERT INTO stack_probe VALUES (42)", "chat");
    std::string seen;
    CHECK(wait_until(
        [&] {
            try {
                seen = s.postgres(1).psql("SELECT x FROM stack_probe", "chat");
            } catch (const std::exception& e) {
                seen = e.what();
            }
            return seen == "42";
        },
        15s, 100ms));
    CHECK(seen == "42");
}

TEST_CASE("chat-stack up leaves PostgreSQL and NATS running, down stops exactly them",
          "[stack]") {
    temp_dir dir("chat-stack-cli");
    std::filesystem::permissions(dir.path(), std::filesystem::perms::others_exec,
                                 std::filesystem::perm_options::add);
    auto state_dir = dir / "system";
    spawn_options options;
    options.log_file = dir / "up.json";
    REQUIRE(run_command({binary("chat-stack").string(), "up", "--dir", state_dir.string(), "--only",
                         "postgres,nats", "--fast", "--json"},
                        options, 90s) == 0);
    auto state = nlohmann::json::parse(read_file(options.log_file));
    INFO(state.dump(2));
    REQUIRE(state["postgres"].size() == 1);
    REQUIRE(state["nats"].size() == 1);
    CHECK(state["services"].empty());
    process_id pg{state["postgres"][0]["pid"], state["postgres"][0]["start_time"]};
    process_id nats{state["nats"][0]["pid"], state["nats"][0]["start_time"]};
    CHECK(alive(pg));
    CHECK(alive(nats));
    CHECK(port_accepts(state["nats"][0]["port"].get<std::uint16_t>()));
    CHECK(std::filesystem::exists(state_dir / "postgres.pid"));

    options.log_file = dir / "status.log";
    CHECK(run_command({binary("chat-stack").string(), "status", "--dir", state_dir.string()}, options) == 0);
    CHECK(read_file(options.log_file).find("running") != std::string::npos);

    options.log_file = dir / "down.log";
    CHECK(run_command({binary("chat-stack").string(), "down", "--dir", state_dir.string()}, options, 60s) == 0);
    CHECK_FALSE(alive(pg));
    CHECK_FALSE(alive(nats));
    CHECK_FALSE(std::filesystem::exists(state_dir / "state.json"));
}

TEST_CASE("nginx spreads WebSockets over two brokers and a rolling restart keeps it whole", "[stack]") {
    options o;
    o.brokers = 2;
    o.nginx = true;
    o.sets = {"log.level=warn"};
    chat::stack::system s(o);
    INFO(s.logs(10));
    REQUIRE(s.nginx() != nullptr);
    auto state = s.state();
    CHECK(state["nginx"]["running"] == true);
    CHECK(state["url"] == s.nginx()->url());

    // Four WebSockets through nginx, one after another: each broker gets some (the access
    // log names the upstream of each request).
    const std::string create = R"({"cmd":"CRT_ACCOUNT","nickName":"via-nginx"})";
    for (int i = 0; i < 4; ++i) {
        auto answer = ws_request(s.nginx()->port(), create, "CRT_ACCOUNT", 5s);
        REQUIRE(answer);
        CHECK(nlohmann::json::parse(*answer).value("code", -1) == 0);
    }
    auto access = read_file(s.dir() / "nginx" / "access.log");
    INFO(access);
    for (std::size_t i = 0; i < 2; ++i)
        CHECK(access.find("upstream=127.0.0.1:" + std::to_string(s.broker_port(i))) != std::string::npos);

    // A rolling restart: every service and the NATS node once, the system ready after each.
    std::vector<std::string> steps;
    s.rolling_restart([&](const std::string& line) { steps.push_back(line); });
    CHECK(steps.size() == 5);  // a dispatcher, a logic, two brokers, a NATS node
    CHECK(s.wait_ready(10s) == "");
    auto answer = ws_request(s.nginx()->port(), create, "CRT_ACCOUNT", 5s);
    REQUIRE(answer);
    CHECK(nlohmann::json::parse(*answer).value("code", -1) == 0);

    // With one broker down, nginx takes every upgrade to the other.
    s.kill9("broker-b1");
    for (int i = 0; i < 3; ++i) {
        auto again = ws_request(s.nginx()->port(), create, "CRT_ACCOUNT", 5s);
        REQUIRE(again);
        CHECK(nlohmann::json::parse(*again).value("code", -1) == 0);
    }
}

TEST_CASE("chat-stack up --locked-bus --nats-tls keeps its secrets private and reuses them", "[stack]") {
    temp_dir dir("chat-stack-locked");
    auto state_dir = dir / "system";
    spawn_options options;
    const auto up = [&](const std::string& log) {
        options.log_file = dir / log;
        REQUIRE(run_command({binary("chat-stack").string(), "up", "--dir", state_dir.string(), "--only", "nats",
                             "--nats-nodes", "2", "--locked-bus", "--nats-tls", "--json"},
                            options, 90s) == 0);
        return nlohmann::json::parse(read_file(options.log_file));
    };
    const auto down = [&] {
        options.log_file = dir / "down.log";
        CHECK(run_command({binary("chat-stack").string(), "down", "--dir", state_dir.string()}, options, 60s) == 0);
    };
    const auto owner_only = [](const std::filesystem::path& p) {
        using std::filesystem::perms;
        return (std::filesystem::status(p).permissions() & perms::all) == (perms::owner_read | perms::owner_write);
    };

    auto state = up("up1.json");
    INFO(state.dump(2));
    const auto& bus = state["nats_security"];
    CHECK(bus["locked_bus"] == true);
    CHECK(bus["tls"] == true);
    REQUIRE(bus["password_files"].size() == 3);  // broker-b1, logic, dispatcher (one broker by default)
    const std::filesystem::path logic_file = bus["password_files"]["logic"].get<std::string>();
    const auto password = read_file(logic_file);
    CHECK(password.size() == 49);  // 48 hex digits and a newline
    for (const auto& file : {logic_file, state_dir / "secrets" / "nats-route.password", state_dir / "nats-1.conf",
                             state_dir / "tls" / "server-key.pem", state_dir / "tls" / "ca-key.pem"}) {
        INFO(file);
        CHECK(owner_only(file));
    }
    CHECK(read_file(state_dir / "nats-1.conf").find(password.substr(0, 48)) != std::string::npos);
    for (auto& node : state["nats"]) {
        CHECK(node["url"].get<std::string>().rfind("tls://", 0) == 0);
        // Both nodes routed to each other, logging in with the route user over TLS.
        nats_server adopted(node, true);
        CHECK(adopted.routes() == 1);
        adopted.release();
    }
    // The state names where the secrets are, never a password.
    CHECK(state.dump().find(password.substr(0, 48)) == std::string::npos);
    down();

    // Started again in the same directory: the same credentials and CA.
    const auto ca = read_file(state_dir / "tls" / "ca.pem");
    state = up("up2.json");
    CHECK(read_file(logic_file) == password);
    CHECK(read_file(state_dir / "tls" / "ca.pem") == ca);
    down();
}
