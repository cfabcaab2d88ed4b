// The locked bus on a real nats-server, as chat-stack configures it (--locked-bus,
// --nats-tls): who may connect, and what each service's NATS user may publish and
// subscribe. Every refusal is checked twice where it can be: the server's permissions
// violation, and a subscriber allowed to hear the subject that never does.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "deploy/stack/system.hpp"
#include "shared/bus/nats_connection.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/config/common_settings.hpp"
#include "shared/log/logger.hpp"
#include "tests/integration/nats_probe.hpp"
#include "tests/support/stack.hpp"

using namespace chat;
using namespace std::chrono_literals;
namespace subjects = bus::subjects;

namespace {

/// NATS alone (no PostgreSQL, no services), its users made for brokers b1 and b2.
stack::options bus_only(int nodes, bool locked, bool tls) {
    stack::options o;
    o.postgres = false;
    o.services = false;
    o.brokers = 2;
    o.nats_nodes = nodes;
    o.locked_bus = locked;
    o.nats_tls = tls;
    return o;
}

test::probe_login as(const stack::system& s, const std::string& user) {
    const auto& u = s.nats_user_named(user);
    return {u.name, u.password, "", ""};
}

const std::string k_denied_publish = "Permissions Violation for Publish to \"";
const std::string k_denied_subscribe = "Permissions Violation for Subscription to \"";

/// Publishes on `subject` as `who` and checks the server refused it and `listener`'s
/// subscription `index` (allowed to hear the subject) got nothing.
void check_publish_denied(test::nats_probe& who, const std::string& subject,
                          test::nats_probe& listener, std::size_t index) {
    INFO("publish to " << subject);
    const int before = listener.received(index);
    who.publish(subject);
    who.flush();
    CHECK(who.wait_error(k_denied_publish + subject + "\""));
    listener.flush();
    std::this_thread::sleep_for(100ms);
    CHECK(listener.received(index) == before);
}

/// A probe logged in as each service's user.
struct every_user {
    explicit every_user(stack::system& s)
        : b1(s.nats().url(), as(s, "broker-b1")),
          b2(s.nats().url(), as(s, "broker-b2")),
          logic(s.nats().url(), as(s, "logic")),
          dispatcher(s.nats().url(), as(s, "dispatcher")) {}
    bool connected() const { return b1.connected() && b2.connected() && logic.connected() && dispatcher.connected(); }
    test::nats_probe b1, b2, logic, dispatcher;
};

void check_subscribe_denied(test::nats_probe& who, const std::string& subject) {
    INFO("subscribe to " << subject);
    who.subscribe(subject);
    who.flush();
    CHECK(who.wait_error(k_denied_subscribe + subject + "\""));
}

}  // namespace

TEST_CASE("a locked bus refuses connections without credentials or with wrong ones") {
    stack::system s(bus_only(1, true, false));
    const auto url = s.nats().url();
    for (const auto& user : {"broker-b1", "broker-b2", "logic", "dispatcher"}) {
        INFO(user);
        CHECK(test::nats_probe(url, as(s, user)).connected());
        CHECK(test::read_file(s.nats_user_named(user).password_file) ==
              s.nats_user_named(user).password + "\n");
    }

    test::nats_probe anonymous(url, {});
    CHECK_FALSE(anonymous.connected());
    CHECK(anonymous.refusal().find("Authorization Violation") != std::string::npos);

    auto wrong = as(s, "logic");
    wrong.password += "x";
    test::nats_probe wrong_password(url, wrong);
    CHECK_FALSE(wrong_password.connected());
    CHECK(wrong_password.refusal().find("Authorization Violation") != std::string::npos);

    // One broker's password is no key to another broker's user.
    test::nats_probe swapped(url, {"broker-b1", s.nats_user_named("broker-b2").password, "", ""});
    CHECK_FALSE(swapped.connected());

    // The services' own connection class with the credentials chat-stack gives them.
    auto log = log::make_service_logger("bus-security-test", "warn");
    config::nats_settings settings;
    settings.url = url;
    settings.user = "dispatcher";
    settings.password =
        config::read_secret_file(s.nats_user_named("dispatcher").password_file.string());
    bus::connection conn(bus::connection_options(settings, "chat-dispatcher"), log);
    CHECK(test::wait_until([&] { return conn.connected(); }, 5s));
}

TEST_CASE(
    "a broker's user publishes commands and heartbeats and reads only its own pushes and replies") {
    stack::system s(bus_only(1, true, false));
    every_user users(s);
    REQUIRE(users.connected());
    // References, not a structured binding: clang 14 cannot capture those in a lambda.
    auto &b1 = users.b1, &b2 = users.b2, &logic = users.logic, &dispatcher = users.dispatcher;

    // What each may hear, and proof that the listeners hear what is allowed.
    const auto b1_pushes = b1.subscribe(subjects::broker_push("b1"));
    const auto b2_pushes = b2.subscribe(subjects::broker_push("b2"));
    const auto commands = logic.subscribe(std::string(subjects::k_all_commands),
                                          std::string(subjects::k_logic_queue));
    const auto wakes = dispatcher.subscribe(std::string(subjects::k_dispatch_wake));
    for (auto* p : {&b1, &b2, &logic, &dispatcher}) p->flush();
    dispatcher.publish(subjects::broker_push("b1"));
    dispatcher.publish(subjects::broker_push("b2"));
    b1.publish(std::string(subjects::k_match));
    b1.publish(std::string(subjects::k_broker_heartbeat));  // allowed; logic is not listening here
    dispatcher.flush();
    b1.flush();
    REQUIRE(test::wait_until(
        [&] { return b1.received(b1_pushes) == 1 && b2.received(b2_pushes) == 1; }, 3s));
    REQUIRE(test::wait_until([&] { return logic.received(commands) == 1; }, 3s));
    CHECK(b1.errors().empty());

    // No pushes from a broker, not even to itself; no waking the dispatcher.
    check_publish_denied(b1, subjects::broker_push("b1"), b1, b1_pushes);
    check_publish_denied(b1, subjects::broker_push("b2"), b2, b2_pushes);
    check_publish_denied(b1, std::string(subjects::k_dispatch_wake), dispatcher, wakes);
    // No reading another broker's pushes or replies, nor the commands of others.
    check_subscribe_denied(b1, subjects::broker_push("b2"));
    check_subscribe_denied(b1, subjects::broker_inbox("b2") + ".>");
    check_subscribe_denied(b1, std::string(subjects::k_all_commands));
    check_subscribe_denied(b1, ">");
    dispatcher.publish(subjects::broker_push("b2"));
    dispatcher.flush();
    REQUIRE(test::wait_until([&] { return b2.received(b2_pushes) == 2; }, 3s));
}

TEST_CASE("only logic answers requests, once each, and logic cannot publish a push") {
    stack::system s(bus_only(1, true, false));
    const auto url = s.nats().url();
    test::nats_probe b1(url, as(s, "broker-b1"));
    test::nats_probe logic(url, as(s, "logic"));
    test::nats_probe dispatcher(url, as(s, "dispatcher"));
    REQUIRE((b1.connected() && logic.connected() && dispatcher.connected()));
    const std::string inbox = subjects::broker_inbox("b1") + ".epoch";
    const auto replies = b1.subscribe(inbox + ".*");
    const auto pushes = b1.subscribe(subjects::broker_push("b1"));
    const auto commands = logic.subscribe(std::string(subjects::k_all_commands),
                                          std::string(subjects::k_logic_queue));
    const auto wakes = dispatcher.subscribe(std::string(subjects::k_dispatch_wake));
    const auto routed = dispatcher.subscribe(std::string(subjects::k_dispatch_push),
                                             std::string(subjects::k_dispatcher_queue));
    for (auto* p : {&b1, &logic, &dispatcher}) p->flush();

    // Logic subscribes to commands only in its queue group.
    check_subscribe_denied(logic, std::string(subjects::k_all_commands));

    // A request answered by logic, on the reply subject the broker chose...
    b1.request(std::string(subjects::k_match), inbox + ".1");
    b1.flush();
    REQUIRE(test::wait_until([&] { return logic.received(commands) == 1; }, 3s));
    CHECK(logic.last_reply(commands) == inbox + ".1");
    logic.publish(inbox + ".1", "reply");
    logic.flush();
    REQUIRE(test::wait_until([&] { return b1.received(replies) == 1; }, 3s));
    CHECK(logic.errors().size() == 1);  // only the refused subscription above
    // ... once: a second answer, or one to a request never made, is refused.
    check_publish_denied(logic, inbox + ".1", b1, replies);
    check_publish_denied(logic, inbox + ".2", b1, replies);

    // Logic wakes the dispatcher and hands it pushes, but publishes none itself.
    logic.publish(std::string(subjects::k_dispatch_wake));
    logic.publish(std::string(subjects::k_dispatch_push));
    logic.flush();
    REQUIRE(test::wait_until(
        [&] { return dispatcher.received(wakes) == 1 && dispatcher.received(routed) == 1; }, 3s));
    check_publish_denied(logic, subjects::broker_push("b1"), b1, pushes);

    // The dispatcher cannot answer a request, nor hear one.
    b1.request(std::string(subjects::k_match), inbox + ".3");
    b1.flush();
    REQUIRE(test::wait_until([&] { return logic.received(commands) == 2; }, 3s));
    check_publish_denied(dispatcher, inbox + ".3", b1, replies);
    check_subscribe_denied(dispatcher, std::string(subjects::k_all_commands));
    check_subscribe_denied(dispatcher, subjects::broker_inbox("b1") + ".>");
    check_publish_denied(dispatcher, std::string(subjects::k_dispatch_wake), dispatcher, wakes);
    logic.publish(inbox + ".3", "reply");  // logic still can
    logic.flush();
    CHECK(test::wait_until([&] { return b1.received(replies) == 2; }, 3s));
}

TEST_CASE("brokers relay TYPING to each other on chat.typing.*, logic and the dispatcher cannot") {
    stack::system s(bus_only(1, true, false));
    every_user users(s);
    REQUIRE(users.connected());
    // References, not a structured binding: clang 14 cannot capture those in a lambda.
    auto &b1 = users.b1, &b2 = users.b2, &logic = users.logic, &dispatcher = users.dispatcher;
    const auto to_17 = b1.subscribe(subjects::typing_to(17));
    const auto to_23 = b2.subscribe(subjects::typing_to(23));
    for (auto* p : {&b1, &b2}) p->flush();
    b2.publish(subjects::typing_to(17));
    b1.publish(subjects::typing_to(23));
    b1.flush();
    b2.flush();
    REQUIRE(test::wait_until([&] { return b1.received(to_17) == 1 && b2.received(to_23) == 1; }, 3s));
    CHECK(b1.errors().empty());
    CHECK(b2.errors().empty());
    // Nothing else needs them: logic never sees a TYPING, the dispatcher neither.
    check_publish_denied(logic, subjects::typing_to(17), b1, to_17);
    check_publish_denied(dispatcher, subjects::typing_to(17), b1, to_17);
    check_subscribe_denied(logic, std::string(subjects::k_all_typing));
    check_subscribe_denied(dispatcher, std::string(subjects::k_all_typing));
}

TEST_CASE(
    "cluster routes of a locked bus log in: a server without the route password is not let in") {
    stack::system s(bus_only(2, true, false));
    REQUIRE(s.nats(0).routes() == 1);
    REQUIRE(s.nats(1).routes() == 1);
    // The members' own config holds the route login; a rogue member without it.
    test::temp_dir dir("chat-rogue-nats");
    stack::nats_options rogue;
    rogue.name = "rogue";
    rogue.dir = dir.path();
    rogue.cluster_name = "chat";
    rogue.routes = {s.nats(0).cluster_port()};
    stack::nats_server intruder(rogue);
    std::this_thread::sleep_for(2s);  // routes of an open cluster connect well within this
    CHECK(intruder.routes() == 0);
    CHECK(s.nats(0).routes() == 1);
}

TEST_CASE(
    "NATS over TLS: a plain connection is refused, one trusting the CA works, the name is "
    "checked") {
    stack::system s(bus_only(1, false, true));
    const auto& tls = s.nats_tls();
    REQUIRE_FALSE(tls.empty());
    const auto url = s.nats().url();
    CHECK(url.rfind("tls://", 0) == 0);
    for (const auto& key : {tls.key_file, tls.ca_file.parent_path() / "ca-key.pem"})
        CHECK((std::filesystem::status(key).permissions() & std::filesystem::perms::all) ==
              (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));

    // Plain text: the server says TLS is required and drops a client that speaks plainly.
    const auto plain =
        test::plain_exchange(s.nats().port(), "CONNECT {\"verbose\":false}\r\nPING\r\n");
    CHECK(plain.find("\"tls_required\":true") != std::string::npos);
    CHECK(plain.find("PONG") == std::string::npos);

    // cnats without our CA: the certificate is not trusted.
    test::nats_probe untrusting(url, {"", "", "", ""});
    CHECK_FALSE(untrusting.connected());
    // With the CA, checking the name the certificate carries (its SANs: 127.0.0.1, localhost).
    for (const auto& name : {"127.0.0.1", "localhost"}) {
        INFO(name);
        test::nats_probe trusting(url, {"", "", tls.ca_file.string(), name});
        CHECK(trusting.connected());
    }
    test::nats_probe wrong_name(url, {"", "", tls.ca_file.string(), "nats.example"});
    CHECK_FALSE(wrong_name.connected());

    // The services' connection class, configured as chat-stack configures a service.
    auto log = log::make_service_logger("bus-security-test", "warn");
    config::nats_settings settings;
    settings.url = url;
    settings.tls.ca_file = tls.ca_file.string();
    bus::connection a(bus::connection_options(settings, "tls-a"), log);
    bus::connection b(bus::connection_options(settings, "tls-b"), log);
    REQUIRE(test::wait_until([&] { return a.connected() && b.connected(); }, 5s));
    std::atomic<int> got{0};
    auto sub = b.subscribe("tls.check", [&](bus::message&& m) { got += m.data() == "over tls"; });
    b.flush(2s);
    a.publish("tls.check", "over tls");
    a.flush(2s);
    CHECK(test::wait_until([&] { return got == 1; }, 3s));
}
