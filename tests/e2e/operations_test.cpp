// What operators rely on (docs/operations.md): /metrics, /healthz and /readyz on every
// service, each named metric there and moving with chat; JSON logs with a line per
// connection and never a message's content.
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/e2e/e2e.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

std::string scrape(std::uint16_t port) {
    const auto res = http_get(port, "/metrics");
    REQUIRE(res);
    REQUIRE(res->status == 200);
    return res->body;
}

// The value of the sample `series` (name with its labels as printed), or -1 when absent.
double sample(const std::string& text, const std::string& series) {
    std::size_t at = 0;
    while ((at = text.find(series + " ", at)) != std::string::npos) {
        if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + series.size() + 1));
        at += series.size();
    }
    return -1;
}

bool has_family(const std::string& text, const std::string& name, const std::string& type) {
    return text.find("# TYPE " + name + " " + type + "\n") != std::string::npos;
}

void check_common(const std::string& text, const std::string& service) {
    CHECK(text.find("chat_build_info{service=\"" + service + "\",version=\"") != std::string::npos);
    CHECK(sample(text, "process_cpu_seconds_total") > 0);
    CHECK(sample(text, "process_resident_memory_bytes") > 1e6);
}

}  // namespace

TEST_CASE("every service serves /metrics, /healthz and /readyz, and chat moves the metrics") {
    service_stack stack;
    const auto broker = stack.broker_port();
    const auto logic = stack.logic_status_port();
    const auto dispatcher = stack.dispatcher_status_port();
    for (const auto port : {broker, logic, dispatcher}) {
        INFO("port " << port);
        CHECK(http_get(port, "/healthz")->status == 200);
        // Ready once each has reached PostgreSQL (logic's first sweep, a drainer): soon.
        bool ready = false;
        for (int i = 0; i < 50 && !ready; ++i) {
            ready = http_get(port, "/readyz")->status == 200;
            if (!ready) std::this_thread::sleep_for(100ms);
        }
        CHECK(ready);
    }

    auto pair = make_pair(stack);
    constexpr int k_messages = 20;
    send_burst(*pair.a, pair.session, k_messages, "m");
    collect_dialogue(*pair.b, pair.session, k_messages);
    // Refused, and counted as INVALID: a client cannot make up label values.
    pair.a->send({{"cmd", "FROBNICATE"}});
    const auto refused = pair.a->next_frame();
    REQUIRE(refused);
    const int refused_code = code_of(*refused);
    CHECK(refused_code != 0);

    const auto b = scrape(broker);
    check_common(b, "broker");
    CHECK(sample(b, "chat_connections") == 2);
    CHECK(sample(b, "chat_commands_total{cmd=\"DIALOGUE\",code=\"0\"}") == k_messages);
    CHECK(sample(b, "chat_commands_total{cmd=\"MATCH\",code=\"0\"}") == 1);
    CHECK(sample(b, "chat_commands_total{cmd=\"CRT_ACCOUNT\",code=\"0\"}") == 2);
    CHECK(sample(b, "chat_commands_total{cmd=\"INVALID\",code=\"" + std::to_string(refused_code) + "\"}") == 1);
    CHECK(b.find("FROBNICATE") == std::string::npos);
    CHECK(sample(b, "chat_request_duration_seconds_count{cmd=\"DIALOGUE\"}") == k_messages);
    CHECK(sample(b, "chat_pushes_total") >= k_messages + 1);  // the messages and b's NewSession
    CHECK(has_family(b, "chat_slow_clients_dropped_total", "counter"));
    CHECK(has_family(b, "chat_rate_limited_total", "counter"));
    CHECK(has_family(b, "chat_resumes_total", "counter"));

    const auto l = scrape(logic);
    check_common(l, "logic");
    CHECK(sample(l, "chat_logic_commands_total{cmd=\"MATCH\",code=\"0\"}") == 1);
    CHECK(sample(l, "chat_logic_commands_total{cmd=\"DIALOGUE\",code=\"0\"}") >= 1);  // batches
    CHECK(sample(l, "chat_logic_batch_size_sum{kind=\"dialogue\"}") == k_messages);
    CHECK(sample(l, "chat_logic_transaction_seconds_count{kind=\"match\"}") == 1);
    CHECK(sample(l, "chat_matching_waiting") == 0);

    const auto d = scrape(dispatcher);
    check_common(d, "dispatcher");
    CHECK(sample(d, "chat_dispatch_delivery_seconds_count") >= k_messages + 1);
    CHECK(sample(d, "chat_dispatch_drain_seconds_count") >= 1);
    CHECK(sample(d, "chat_inbox_rows") >= 0);
}

TEST_CASE("with log.format json every log line is a JSON object, connections are logged and contents never") {
    stack_options options;
    options.sets = {"log.format=json"};
    service_stack stack(options);
    std::int64_t alice = 0, bob = 0;
    {
        auto pair = make_pair(stack);
        alice = pair.alice.id;
        bob = pair.bob.id;
        pair.a->send({{"cmd", "DIALOGUE"}, {"requestId", "r1"}, {"sessionId", pair.session}, {"senderId", alice},
                      {"content", "a \"secret\" no log may hold\n"}});
        collect_dialogue(*pair.b, pair.session, 1);
    }  // both clients close
    // The broker logs each close once it has seen it.
    std::this_thread::sleep_for(1s);

    for (const std::string name : {"broker-b1", "logic-1", "dispatcher-1"}) {
        std::ifstream in(stack.dir() / (name + ".log"));
        REQUIRE(in);
        std::string line, all;
        int lines = 0;
        while (std::getline(in, line)) {
            INFO(name << ": " << line);
            const auto entry = nlohmann::json::parse(line, nullptr, false);
            REQUIRE_FALSE(entry.is_discarded());
            CHECK(entry.contains("time"));
            CHECK(entry.contains("level"));
            CHECK(entry.contains("msg"));
            CHECK(entry.value("service", "") == name.substr(0, name.find('-')));
            all += entry.value("msg", "") + "\n";
            ++lines;
        }
        CHECK(lines > 0);
        CHECK(all.find("secret") == std::string::npos);
        if (name == "broker-b1") {
            for (const auto id : {alice, bob}) {
                INFO("account " << id);
                CHECK(all.find("logged in conn=") != std::string::npos);
                CHECK(all.find("account=" + std::to_string(id) + "\n") != std::string::npos);  // logged in
                CHECK(all.find("account=" + std::to_string(id) + " address=") != std::string::npos);  // closed
            }
            CHECK(all.find("connection opened conn=") != std::string::npos);
        }
    }
}

TEST_CASE("retention: the running logic deletes a conversation once it ended longer ago than retention.messages") {
    stack_options options;
    // A window of seconds (the repeat window, which it may not undercut, off) and a round
    // every 200 ms; the rest as shipped.
    options.sets = {"matching.repeat_window=0s", "retention.messages=2s", "retention.interval=200ms"};
    service_stack stack(options);
    auto pair = make_pair(stack);
    send_burst(*pair.a, pair.session, 3, "old");
    collect_dialogue(*pair.b, pair.session, 3);
    const auto session = std::to_string(pair.session);
    auto rows = [&](const std::string& table, const std::string& column) {
        return std::stoll(stack.db().query("SELECT count(*) FROM " + table + " WHERE " + column + " = " + session));
    };
    // Open, it stays however long it lasts.
    std::this_thread::sleep_for(3s);
    CHECK(rows("messages", "session_id") == 3);

    const auto left = pair.a->request({{"cmd", "LEAVE"}, {"sessionId", pair.session}});
    REQUIRE(code_of(left) == 0);
    const auto ended = std::chrono::steady_clock::now();
    while (rows("sessions", "id") > 0 && std::chrono::steady_clock::now() - ended < 20s)
        std::this_thread::sleep_for(100ms);
    // Not before its window ran out; soon after.
    const auto took = std::chrono::steady_clock::now() - ended;
    CHECK(took >= 2s);
    CHECK(rows("sessions", "id") == 0);
    CHECK(rows("messages", "session_id") == 0);
    CHECK(rows("session_members", "session_id") == 0);
    // The two people remain (online), and chat on: they may be paired again.
    CHECK(std::stoll(stack.db().query("SELECT count(*) FROM accounts")) == 2);
    CHECK(match_expecting(*pair.a, *pair.b) > pair.session);

    const auto text = scrape(stack.logic_status_port());
    CHECK(sample(text, "chat_retention_deleted_total{kind=\"messages\"}") == 3);
    CHECK(sample(text, "chat_retention_deleted_total{kind=\"sessions\"}") == 1);
    const auto log = stack.logs(200);
    CHECK(log.find("retention: deleted 3 messages in 1 conversations") != std::string::npos);
}
