// chat-stack: the command in front of the chat_stack library. `up` starts a whole
// system detached, with state.json and pid files in --dir; the other commands act on
// exactly the processes recorded there.
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "deploy/stack/net.hpp"
#include "deploy/stack/system.hpp"

namespace {

using chat::stack::options;

constexpr const char* k_usage = R"(usage: chat-stack COMMAND --dir DIR [OPTIONS]

  up        start a system on loopback, detached; state.json and NAME.pid in DIR
  down      stop every process recorded in DIR (services first)
  status    what runs where (--json: the state, with "running" per process)
  restart   a rolling restart: each dispatcher, logic, broker and NATS node in turn
            (SIGTERM, start, wait until the whole system is ready), as in an upgrade
  stop NAME | start NAME | kill NAME
            SIGTERM (SIGINT for PostgreSQL), start again on the same ports and wait
            until ready, or SIGKILL one process (names: see status)

up options:
  --json                 print the state as JSON (else a summary)
  --cluster              the cluster of docs/operations.md: PostgreSQL with automatic
                         failover, 3 NATS nodes, 2 brokers behind nginx, 2 logic, 2
                         dispatchers, Prometheus (options given after it still apply)
  --fixed-ports          deploy/config's ports: broker 8080 (8081, ...), NATS 14222 and
                         monitoring 18222 (+1 per node), PostgreSQL 15432 (standby 15433)
  --only PARTS           start only these of postgres,nats,services (e.g. postgres,nats)
  --brokers N --logics N --dispatchers N   (default 1 each; broker ids b1, b2, ...)
  --brokers-first        start the brokers before logic and the dispatchers
  --nginx                nginx in front of the brokers: serves the web client and
                         proxies /ws (with --fixed-ports on 8080, brokers from 8081)
  --monitoring           Prometheus scraping every service and every PostgreSQL node
                         (through prometheus-postgres-exporter), with the alert rules of
                         deploy/prometheus/alerts.yml (with --fixed-ports on 9090, the
                         exporters on 9187, ...); ready once every target is up
  --scrape-interval S    how often Prometheus scrapes, in seconds (default 5)
  --nats-nodes N         a full-mesh NATS cluster "chat" of N nodes (default 1)
  --locked-bus           NATS users and permissions: one user per service kind and per
                         broker, each allowed only its own subjects; random passwords in
                         DIR/secrets/nats-USER.password (0600, kept for the next up);
                         cluster routes log in too
  --nats-tls             TLS for NATS clients and routes, with a private CA and server
                         certificate made by openssl in DIR/tls/ (clients trust ca.pem)
  --standby              a streaming-replication PostgreSQL standby
  --synchronous          ... that the primary waits for on every commit
  --postgres-ha          PostgreSQL with automatic failover instead (pg_auto_failover:
                         processes pg-monitor, pg-1, pg-2; fixed ports 15431, 15432, 15433);
                         the services connect with passwords, none as superuser
  --fast-failover        ... with health checks that promote the standby within seconds
  --fast                 PostgreSQL without fsync (tests; default: durable)
  --tuned                deploy/dev.sh's PostgreSQL buffer and vacuum settings
  --pg-setting NAME=VALUE  any PostgreSQL setting (repeatable)
  --pg-extension NAME    CREATE EXTENSION in the database (repeatable)
  --database NAME        the database (default chat)
  --set [KIND:]KEY=VALUE a config override for every service whose config has KEY's
                         section (or only KIND: broker, logic, dispatcher); repeatable
  --bin-dir DIR --config-dir DIR --migrations DIR
  --timeout SECONDS      how long to wait for readiness (default 60)
)";

[[noreturn]] void usage_error(const std::string& what) {
    std::fprintf(stderr, "chat-stack: %s\n\n%s", what.c_str(), k_usage);
    std::exit(2);
}

int to_int(const std::string& flag, const std::string& value) {
    try {
        return std::stoi(value);
    } catch (const std::exception&) {
        usage_error(flag + " needs a number, not '" + value + "'");
    }
}

void print_summary(chat::stack::system& s) {
    auto state = s.state();
    std::printf("%-18s %-8s %-8s %s\n", "PROCESS", "STATE", "PID", "WHERE");
    auto row = [](const nlohmann::json& p, const std::string& where) {
        std::printf("%-18s %-8s %-8d %s\n", p.value("name", std::string()).c_str(),
                    p.value("running", false) ? "running" : "stopped", p.value("pid", 0), where.c_str());
    };
    for (auto& p : state["postgres"]) {
        std::string role = p.value("role", std::string());
        if (p.value("running", false)) {
            try {
                role = s.postgres(&p - &state["postgres"][0]).psql("SELECT pg_is_in_recovery()") == "t"
                           ? "standby" : "primary";
            } catch (const std::exception&) {
                role += ", not answering";
            }
        }
        row(p, p.value("url", std::string()) + " (" + role + ")");
    }
    if (state.contains("postgres_ha_status")) {
        for (auto& p : state["postgres_ha_status"]["members"]) {
            std::string role = p.value("role", std::string("unknown"));
            if (p.contains("assigned") && p["assigned"] != p.value("reported", std::string()))
                role += " -> " + p["assigned"].get<std::string>();
            row(p, "127.0.0.1:" + std::to_string(p.value("port", 0)) + " (" + role + ")");
        }
        for (auto& r : state["postgres_ha_status"].value("replication", nlohmann::json::array()))
            std::printf("%-18s %s %s (synchronous_standby_names = %s)\n", "  replication",
                        r.value("standby", std::string()).c_str(), r.value("sync_state", std::string()).c_str(),
                        state["postgres_ha_status"].value("synchronous_standby_names", std::string()).c_str());
    }
    for (std::size_t i = 0; i < state["nats"].size(); ++i) {
        auto& p = state["nats"][i];
        std::string where = p.value("url", std::string()) + ", monitoring :" +
                            std::to_string(p.value("monitor_port", 0));
        if (state["nats"].size() > 1 && p.value("running", false))
            where += ", " + std::to_string(s.nats(i).routes()) + " route(s)";
        row(p, where);
    }
    for (auto& p : state["services"]) {
        std::string where = "-";
        if (p.contains("url")) {
            auto health = chat::stack::http_get(p.value("port", 0), "/healthz", std::chrono::milliseconds(1000));
            where = p.value("url", std::string()) + "  /healthz " +
                    (health ? std::to_string(health->status) : std::string("no answer"));
        }
        if (p.contains("moderation_url")) where += "  moderation " + p.value("moderation_url", std::string()) + "/moderation";
        row(p, where);
    }
    if (state.contains("nginx")) {
        auto& p = state["nginx"];
        auto front = s.nginx();
        row(p, p.value("url", std::string()) + " -> the brokers  /healthz " +
                   (front && front->healthy() ? "200" : "no answer"));
    }
    if (state.contains("monitoring")) {
        auto& m = state["monitoring"];
        for (auto& e : m["exporters"]) {
            e["name"] = "exporter-" + e.value("node", std::string());
            row(e, "http://127.0.0.1:" + std::to_string(e.value("port", 0)) + "/metrics (PostgreSQL " +
                       e.value("node", std::string()) + ")");
        }
        auto watch = s.monitoring();
        const auto down = watch ? watch->targets_down() : std::string("?");
        m["prometheus"]["name"] = m["name"];
        row(m["prometheus"], m.value("url", std::string()) + "  targets: " + (down.empty() ? "all up" : down));
    }
    std::printf("database %s; logs in %s\n", state.value("database_url", std::string()).c_str(),
                state.value("dir", std::string()).c_str());
    const auto& bus = state["nats_security"];
    if (bus.is_object() && bus.value("locked_bus", false))
        std::printf("NATS users and permissions on; passwords in %s\n",
                    bus.value("secrets_dir", std::string()).c_str());
    if (bus.is_object() && bus.value("tls", false))
        std::printf("NATS over TLS; clients trust %s\n", bus.value("ca_file", std::string()).c_str());
}

int run(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
        std::fputs(k_usage, args.empty() ? stderr : stdout);
        return args.empty() ? 2 : 0;
    }
    const std::string command = args[0];
    options o;
    o.detached = true;
    o.pg_durable = true;
    o.ready_timeout = std::chrono::seconds(60);
    bool json = false;
    std::string name;
    std::filesystem::path dir;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const auto& a = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) usage_error(a + " needs a value");
            return args[++i];
        };
        if (a == "--dir") dir = value();
        else if (a == "--json") json = true;
        else if (a == "--cluster") chat::stack::cluster_shape(o);
        else if (a == "--fixed-ports") o.fixed_ports = true;
        else if (a == "--only") {
            auto parts = "," + value() + ",";
            o.postgres = parts.find(",postgres,") != std::string::npos;
            o.nats = parts.find(",nats,") != std::string::npos;
            o.services = parts.find(",services,") != std::string::npos;
        } else if (a == "--brokers") o.brokers = to_int(a, value());
        else if (a == "--logics") o.logics = to_int(a, value());
        else if (a == "--dispatchers") o.dispatchers = to_int(a, value());
        else if (a == "--brokers-first") o.brokers_first = true;
        else if (a == "--nginx") o.nginx = true;
        else if (a == "--monitoring") o.monitoring = true;
        else if (a == "--scrape-interval") o.scrape_interval = std::chrono::seconds(to_int(a, value()));
        else if (a == "--nats-nodes") o.nats_nodes = to_int(a, value());
        else if (a == "--locked-bus") o.locked_bus = true;
        else if (a == "--nats-tls") o.nats_tls = true;
        else if (a == "--standby") o.standby = true;
        else if (a == "--synchronous") o.synchronous = true;
        else if (a == "--postgres-ha") o.postgres_ha = true;
        else if (a == "--fast-failover") o.pg_fast_failover = true;
        else if (a == "--fast") o.pg_durable = false;
        else if (a == "--tuned") o.pg_tuned = true;
        else if (a == "--pg-setting") o.pg_settings.push_back(value());
        else if (a == "--pg-extension") o.pg_extensions.push_back(value());
        else if (a == "--database") o.database = value();
        else if (a == "--set") o.sets.push_back(value());
        else if (a == "--bin-dir") o.bin_dir = value();
        else if (a == "--config-dir") o.config_dir = value();
        else if (a == "--migrations") o.migrations = value();
        else if (a == "--timeout") o.ready_timeout = std::chrono::seconds(to_int(a, value()));
        else if (a.rfind("--", 0) != 0 && name.empty()) name = a;
        else usage_error("unknown argument " + a);
    }
    if (dir.empty()) usage_error(command + " needs --dir DIR");
    if (command == "up") {
        if (std::filesystem::exists(dir / "state.json")) {
            // An earlier system in DIR: refuse while any of it runs; its data stay.
            auto old = chat::stack::system::attach(dir);
            if (
                old->state().dump().find("\"running\":true") != std::string::npos)
                throw std::runtime_error("a system already runs in " + dir.string() +
                                         " (chat-stack down --dir " + dir.string() + " first)");
            std::filesystem::remove(dir / "state.json");
        }
        o.dir = dir;
        chat::stack::system s(o);
        if (json) {
            std::cout << s.state().dump(2) << "\n";
        } else {
            print_summary(s);
        }
        return 0;
    }
    auto s = chat::stack::system::attach(dir);
    if (command == "down") {
        s->shutdown();
        std::filesystem::remove(dir / "state.json");
        for (auto& n : s->names()) std::filesystem::remove(dir / (n + ".pid"));
        return 0;
    }
    if (command == "status") {
        if (json) {
            std::cout << s->state().dump(2) << "\n";
        } else {
            print_summary(*s);
        }
        return s->dead_processes().empty() ? 0 : 3;
    }
    if (command == "restart") {
        s->rolling_restart([](const std::string& line) { std::printf("%s\n", line.c_str()); std::fflush(stdout); });
        return 0;
    }
    if (name.empty()) usage_error(command + " needs a process NAME");
    if (command == "kill") s->kill9(name);
    else if (command == "stop") s->stop(name);
    else if (command == "start") s->start(name);
    else usage_error("unknown command " + command);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chat-stack: %s\n", e.what());
        return 1;
    }
}
