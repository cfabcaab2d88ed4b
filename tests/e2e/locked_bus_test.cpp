// The whole system on a locked bus over TLS (chat-stack --locked-bus --nats-tls) with a
// three-node NATS cluster: every service logs in as its own NATS user over TLS, people on
// different brokers match and talk, a RECONNECT elsewhere kicks the old connection, and
// no password shows in an argv or a log.
#include <map>

#include "tests/e2e/e2e.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

stack_options locked_cluster() {
    auto options = two_of_everything();
    options.nats_nodes = 3;
    options.locked_bus = true;
    options.nats_tls = true;
    return options;
}

}  // namespace

TEST_CASE(
    "on a locked bus over TLS with a NATS cluster, people on different brokers match and talk",
    "[e2e][locked_bus]") {
    service_stack stack(locked_cluster());
    auto& system = stack.system();
    REQUIRE(system.nats_count() == 3);

    // Who is logged in as whom, over what, on every node.
    std::multimap<std::string, std::string> users_by_name;
    for (std::size_t i = 0; i < system.nats_count(); ++i) {
        CHECK(system.nats(i).url().rfind("tls://", 0) == 0);
        auto connz = system.nats(i).monitor("/connz?auth=true&limit=1000");
        REQUIRE(connz.is_object());
        for (auto& conn : connz.value("connections", json::array())) {
            const auto name = conn.value("name", std::string());
            INFO("connection " << conn.dump());
            CHECK_FALSE(conn.value("tls_version", std::string()).empty());
            users_by_name.emplace(name, conn.value("authorized_user", std::string()));
        }
    }
    const std::multimap<std::string, std::string> expected{
        {"chat-broker-b1", "broker-b1"},   {"chat-broker-b2", "broker-b2"},
        // Each broker's second connection carries TYPING (services/broker/src/typing_bus.hpp).
        {"chat-broker-b1-typing", "broker-b1"}, {"chat-broker-b2-typing", "broker-b2"},
        {"chat-dispatcher", "dispatcher"}, {"chat-dispatcher", "dispatcher"},
        {"chat-logic", "logic"},           {"chat-logic", "logic"}};
    CHECK(users_by_name == expected);

    auto p = make_pair(stack, 0, 1);  // alice on b1, bob on b2
    constexpr int k_count = 20;
    const auto a_ids = send_burst(*p.a, p.session, k_count, "a-");
    const auto b_ids = send_burst(*p.b, p.session, k_count, "b-");
    auto to_b = collect_dialogue(*p.b, p.session, k_count);
    auto to_a = collect_dialogue(*p.a, p.session, k_count);
    for (int i = 0; i < k_count; ++i) {
        CHECK(to_b[i].value("msgId", json()) == a_ids[i]);
        CHECK(to_b[i].value("content", json()) == burst_content("a-", i));
        CHECK(to_a[i].value("msgId", json()) == b_ids[i]);
        CHECK(to_a[i].value("content", json()) == burst_content("b-", i));
    }

    // A RECONNECT through b2 moves alice there: logic's kick for b1 travels through the
    // dispatcher, the only user allowed to publish on broker.b1.push.
    auto moved = stack.connect(1);
    REQUIRE(code_of(moved->reconnect(p.alice.id, p.alice.token)) == 0);
    REQUIRE(p.a->wait_closed(10s));
    CHECK(p.a->close_code() == 4001);
    // (Her resume replays what she never acknowledged first; wait for the new one.)
    const auto said = p.b->say(p.session, "still there?", "b-late");
    REQUIRE(code_of(said) == 0);
    const auto late_id = said.value("msgId", json(-1)).get<std::int64_t>();
    auto late = expect_push(*moved, push_dialogue(p.session, late_id), "a push to alice on b2");
    CHECK(late.value("content", json()) == "still there?");

    // Passwords stay in their files: not in any argv, not in any service's log.
    for (auto& svc : system.services()) {
        const auto log = svc.process->log();
        CHECK(log.find("connected to NATS at tls://127.0.0.1:") != std::string::npos);
        std::string argv;
        for (const auto& arg : svc.process->argv()) argv += arg + " ";
        for (const auto& user : system.nats_users()) {
            INFO(svc.name << " and the password of " << user.name);
            CHECK(argv.find(user.password) == std::string::npos);
            CHECK(log.find(user.password) == std::string::npos);
        }
    }
    check_services_alive(stack);
}
