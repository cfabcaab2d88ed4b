// Monitoring as docs/operations.md describes it: Prometheus (chat-stack --monitoring)
// scrapes every service and both PostgreSQL nodes through the exporter, has loaded every
// alert rule of deploy/prometheus/alerts.yml, and after a short chat every panel query of
// the Grafana dashboard (deploy/grafana/chat-dashboard.json) returns data.
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "deploy/stack/net.hpp"
#include "deploy/stack/wait.hpp"
#include "tests/e2e/e2e.hpp"
#include "tests/support/diagnostics.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

std::string source_file(const std::string& relative) {
    std::ifstream in(std::filesystem::path(CHAT_SOURCE_DIR) / relative);
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

json prometheus_api(std::uint16_t port, const std::string& target) {
    const auto response = chat::stack::http_get(port, target, 5s);
    REQUIRE(response);
    INFO(target << " answered " << response->status << ": " << response->body);
    REQUIRE(response->status == 200);
    auto body = json::parse(response->body);
    REQUIRE(body.value("status", "") == "success");
    return body["data"];
}

// How many samples of an instant query are numbers (not NaN): a histogram quantile over
// a window without observations is NaN, which a panel shows as nothing.
std::size_t finite_samples(std::uint16_t port, const std::string& query) {
    const auto data = prometheus_api(port, "/api/v1/query?query=" + chat::stack::percent_encoded(query));
    std::size_t finite = 0;
    for (const auto& series : data["result"]) {
        const auto value = std::stod(series["value"][1].get<std::string>());
        finite += std::isfinite(value) ? 1 : 0;
    }
    return finite;
}

struct panel_query {
    std::string panel;
    std::string expr;
};

// Every target of every panel, with Grafana's $__rate_interval as a minute: four
// scrapes at the production interval, dozens at the test's.
std::vector<panel_query> dashboard_queries() {
    const auto dashboard = json::parse(source_file("deploy/grafana/chat-dashboard.json"));
    std::vector<panel_query> queries;
    for (const auto& panel : dashboard.at("panels")) {
        for (const auto& target : panel.at("targets")) {
            auto expr = target.at("expr").get<std::string>();
            expr = std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), "1m");
            REQUIRE(expr.find('$') == std::string::npos);  // no other Grafana variable
            queries.push_back({panel.at("title").get<std::string>(), expr});
        }
    }
    return queries;
}

std::set<std::string> alert_names_in_rules_file() {
    const auto text = source_file("deploy/prometheus/alerts.yml");
    std::set<std::string> names;
    const std::regex alert(R"(- alert: (\w+))");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), alert); it != std::sregex_iterator(); ++it)
        names.insert((*it)[1]);
    return names;
}

}  // namespace

TEST_CASE("Prometheus scrapes every service and PostgreSQL node, loads the alerts, and every dashboard panel has data") {
    chat::stack::temp_dir dir("chat-monitoring");
    chat::stack::options o;
    o.dir = dir.path();
    o.standby = true;  // the replication panels and the standby exporter
    o.monitoring = true;
    o.scrape_interval = 1s;
    o.ready_timeout = 40s;
    o.sets = {"limits.messages_per_second=0", "limits.accounts_per_minute_per_address=0",
              "limits.connections_per_minute_per_address=0", "http.allowed_origins=[]"};
    chat::stack::system system(o);
    set_failure_context([&] { return system.logs(); });
    struct forget_context {
        ~forget_context() { clear_failure_context(); }
    } forget;  // before the system goes
    REQUIRE(system.monitoring() != nullptr);
    const auto prometheus = system.monitoring()->port();

    // Every process the system started is a target, and up.
    std::set<std::string> targets;
    const auto active = prometheus_api(prometheus, "/api/v1/targets?state=active");
    for (const auto& target : active["activeTargets"]) {
        INFO(target.dump());
        CHECK(target.value("health", "") == "up");
        targets.insert(target["labels"].value("job", "") + "/" + target["labels"].value("name", ""));
    }
    CHECK(targets == std::set<std::string>{"chat-broker/broker-b1", "chat-logic/logic-1",
                                           "chat-dispatcher/dispatcher-1", "postgres/postgres",
                                           "postgres/standby", "prometheus/prometheus"});

    // Every rule of alerts.yml is loaded and evaluates without error.
    std::set<std::string> loaded;
    const auto rules = prometheus_api(prometheus, "/api/v1/rules?type=alert");
    for (const auto& group : rules["groups"]) {
        for (const auto& rule : group["rules"]) {
            INFO(rule.dump());
            CHECK(rule.value("health", "") != "err");
            loaded.insert(rule.value("name", ""));
        }
    }
    const auto expected_alerts = alert_names_in_rules_file();
    CHECK(expected_alerts.size() >= 8);
    CHECK(loaded == expected_alerts);

    // A short chat: accounts, a MATCH, messages both ways, and one refused command (so
    // the error panel has a code to show). In rounds over several scrapes: a rate needs
    // two samples of a series, and a series is born at its first observation.
    ws_client a(system.broker_port()), b(system.broker_port());
    a.create_account("ada");
    b.create_account("bo");
    const auto session = match_expecting(a, b);
    for (int round = 0; round < 4; ++round) {
        const auto tag = std::to_string(round);
        send_burst(a, session, 5, "a" + tag);
        send_burst(b, session, 5, "b" + tag);
        collect_dialogue(b, session, 5);
        collect_dialogue(a, session, 5);
        a.ping();
        a.send({{"cmd", "DIALOGUE"}, {"requestId", "bad" + tag}, {"sessionId", session}});  // no content
        REQUIRE(a.next_frame());
        std::this_thread::sleep_for(1200ms);
    }

    // Each panel query returns data once Prometheus has scraped the chat a few times.
    const auto queries = dashboard_queries();
    REQUIRE(queries.size() >= 20);
    std::map<std::string, std::string> empty;
    const bool all_have_data = chat::stack::wait_until(
        [&] {
            empty.clear();
            for (const auto& q : queries)
                if (finite_samples(prometheus, q.expr) == 0) empty[q.panel] = q.expr;
            return empty.empty();
        },
        30s, 500ms);
    std::string missing;
    for (const auto& [panel, expr] : empty) missing += "\n  " + panel + ": " + expr;
    INFO("panels without data:" << missing);
    CHECK(all_have_data);
}
