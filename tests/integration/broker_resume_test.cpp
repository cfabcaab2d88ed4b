// chat-broker's resume against a real nats-server, with this test answering for logic:
// the broker must never write a push held during a resume before the missed messages it
// waits for, even when logic fails to answer a page. (Writing it would leave a gap, and
// the client's cumulative ACK of the later message would then skip the missing ones.)
#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "shared/bus/nats_connection.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/log/logger.hpp"
#include "shared/proto/chat.pb.h"
#include "tests/support/stack.hpp"
#include "tests/support/ws_client.hpp"

using namespace chat;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t k_account = 42;
constexpr std::int64_t k_partner = 43;
constexpr std::int64_t k_session = 7;
const std::string k_token(64, 'a');  // well formed; logic (this test) accepts any

proto::Delivery message(std::int64_t msg_id) {
    proto::Delivery d;
    d.set_kind(proto::Delivery::MESSAGE);
    d.set_receiver_id(k_account);
    d.set_session_id(k_session);
    d.set_msg_id(msg_id);
    d.set_sender_id(k_partner);
    d.set_content("message " + std::to_string(msg_id));
    return d;
}

proto::ResumeReply page(std::int64_t first, std::int64_t last, bool more) {
    proto::ResumeReply r;
    for (auto id = first; id <= last; ++id) *r.add_deliveries() = message(id);
    r.set_more(more);
    return r;
}

/// A broker on a private nats-server; the test plays logic on chat.cmd.>, answering
/// hello and offline itself and handing RECONNECT and resume requests to the test.
struct broker_fixture {
    test::temp_dir dir{"broker-resume"};
    test::nats_server nats{dir.path()};
    std::uint16_t port = test::free_port();
    std::shared_ptr<spdlog::logger> log = log::make_service_logger("scripted-logic", "warn");
    bus::connection bus{{nats.url(), "scripted-logic"}, log};

    std::mutex mutex;
    std::condition_variable arrived;
    std::deque<std::pair<std::string, proto::Request>> requests;  // (reply subject, request)

    bus::subscription commands;
    std::unique_ptr<test::child_process> broker;

    broker_fixture() {
        commands = bus.subscribe(std::string(bus::subjects::k_all_commands),
                                 [this](bus::message&& m) { on_command(std::move(m)); });
        bus.flush(2s);
        const auto config = dir / "broker.yaml";
        test::write_file(config, "broker:\n  id: b1\n  address: 127.0.0.1\n  port: " + std::to_string(port) +
                                     "\n  web_root: web/dist\n  request_timeout: 300ms\n  heartbeat_interval: 1s\n"
                                     "nats:\n  url: " + nats.url() + "\nlog:\n  level: info\n");
        test::spawn_options options;
        options.log_file = dir / "broker.log";
        broker = std::make_unique<test::child_process>(
            std::vector<std::string>{test::binary("chat-broker").string(), "--config", config.string()}, options);
        REQUIRE(test::wait_until(
            [&] {
                auto r = test::http_get(port, "/healthz", 500ms);
                return r && r->status == 200;
            },
            10s));
    }

    // A cnats thread: no Catch assertions here.
    void on_command(bus::message&& m) {
        proto::Request request;
        const bool parsed = request.ParseFromArray(m.data().data(), static_cast<int>(m.data().size()));
        if (parsed && (request.has_reconnect() || request.has_resume())) {
            std::lock_guard lock(mutex);
            requests.emplace_back(std::string(m.reply()), std::move(request));
            arrived.notify_all();
        } else if (!m.reply().empty()) {
            proto::Reply ok;  // hello and the like: code 0
            bus.publish(std::string(m.reply()), ok.SerializeAsString());
        }
    }

    /// The next RECONNECT or resume request the broker sent; fails the test after 5 s.
    std::pair<std::string, proto::Request> next_request() {
        std::unique_lock lock(mutex);
        if (!arrived.wait_for(lock, 5s, [&] { return !requests.empty(); }))
            FAIL("the broker sent no RECONNECT or resume request\n" << broker->describe());
        auto r = std::move(requests.front());
        requests.pop_front();
        return r;
    }
    bool no_request_within(std::chrono::milliseconds quiet) {
        std::unique_lock lock(mutex);
        return !arrived.wait_for(lock, quiet, [&] { return !requests.empty(); });
    }

    void answer(const std::string& reply_to, const proto::Reply& reply) {
        bus.publish(reply_to, reply.SerializeAsString());
    }
    void answer_reconnect(const std::string& reply_to, proto::ResumeReply resume) {
        proto::Reply reply;
        auto* r = reply.mutable_reconnect();
        r->set_account_id(k_account);
        r->set_nickname("resumer");
        auto* s = r->add_sessions();
        s->set_session_id(k_session);
        s->set_partner_id(k_partner);
        s->set_partner_name("partner");
        *r->mutable_resume() = std::move(resume);
        answer(reply_to, reply);
    }
    void answer_resume(const std::string& reply_to, proto::ResumeReply resume) {
        proto::Reply reply;
        *reply.mutable_resume() = std::move(resume);
        answer(reply_to, reply);
    }
    /// The client sends RECONNECT; logic answers it with `first_page`.
    void reconnect_with(test::ws_client& client, proto::ResumeReply first_page) {
        client.send({{"cmd", "RECONNECT"}, {"accountId", k_account}, {"token", k_token}});
        auto [reconnect_to, reconnect] = next_request();
        REQUIRE(reconnect.has_reconnect());
        answer_reconnect(reconnect_to, std::move(first_page));
        CHECK(client.wait_response("RECONNECT", 5s).value("code", -1) == 0);
    }
    /// A live push for the account, as the dispatcher would publish it.
    void publish_push(std::int64_t msg_id) {
        proto::Push push;
        *push.add_deliveries() = message(msg_id);
        bus.publish(bus::subjects::broker_push("b1"), push.SerializeAsString());
        bus.flush(2s);
    }
};

/// The msgIds of the PUSH_DIALOGUE frames the client received, in order, until
/// `last` arrived or nothing came for `quiet`.
std::vector<std::int64_t> received_msg_ids(test::ws_client& client, std::int64_t last,
                                           std::chrono::milliseconds quiet = 2s) {
    std::vector<std::int64_t> ids;
    while (ids.empty() || ids.back() != last) {
        auto frame = client.wait_push([](const test::json& f) { return f.value("cmd", "") == "PUSH_DIALOGUE"; }, quiet);
        if (!frame) break;
        ids.push_back(frame->value("msgId", std::int64_t{0}));
    }
    return ids;
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t last) {
    std::vector<std::int64_t> v;
    for (auto id = first; id <= last; ++id) v.push_back(id);
    return v;
}

}  // namespace

TEST_CASE("an unanswered resume page is asked for again and held pushes wait for it", "[integration][broker]") {
    broker_fixture f;
    test::ws_client client(f.port);
    f.reconnect_with(client, page(1, 100, true));

    auto [first_try_to, first_try] = f.next_request();
    REQUIRE(first_try.has_resume());
    // Logic does not answer this page; meanwhile a newer message arrives live.
    f.publish_push(151);
    auto [second_try_to, second_try] = f.next_request();
    REQUIRE(second_try.has_resume());
    REQUIRE(second_try.resume().from_size() == 1);
    CHECK(second_try.resume().from(0).session_id() == k_session);
    CHECK(second_try.resume().from(0).msg_id() == 100);
    f.answer_resume(second_try_to, page(101, 150, false));

    CHECK(received_msg_ids(client, 151) == range(1, 151));
    CHECK(client.is_open());
}

TEST_CASE("a resume page logic refuses closes the connection with 1013 instead of skipping ahead",
          "[integration][broker]") {
    broker_fixture f;
    test::ws_client client(f.port);
    f.reconnect_with(client, page(1, 100, true));
    auto [resume_to, resume] = f.next_request();
    REQUIRE(resume.has_resume());
    f.publish_push(151);
    proto::Reply refused;
    refused.set_code(4);
    refused.set_msg("this connection is no longer bound to the account");
    f.answer(resume_to, refused);

    REQUIRE(client.wait_closed(5s));
    CHECK(client.close_code() == 1013);
    // Only the first page was written: the client's RECONNECT resumes from its ACKs.
    CHECK(received_msg_ids(client, 100, 300ms) == range(1, 100));
    CHECK(client.buffered().empty());  // in particular not msgId 151
}

TEST_CASE("a resume that logic never answers ends with 1013 after a few tries, nothing skipped",
          "[integration][broker]") {
    broker_fixture f;
    test::ws_client client(f.port);
    f.reconnect_with(client, page(1, 100, true));
    f.next_request();
    f.publish_push(151);
    int tries = 1;
    while (!f.no_request_within(1500ms)) {
        auto [to, r] = f.next_request();
        CHECK(r.has_resume());
        ++tries;
    }
    CHECK(tries == 4);
    REQUIRE(client.wait_closed(5s));
    CHECK(client.close_code() == 1013);
    CHECK(received_msg_ids(client, 100, 300ms) == range(1, 100));
}

TEST_CASE("a NATS loss announced during a RECONNECT runs the resume again once it is done",
          "[integration][broker]") {
    broker_fixture f;
    test::ws_client client(f.port);
    client.send({{"cmd", "RECONNECT"}, {"accountId", k_account}, {"token", k_token}});

    auto [reconnect_to, reconnect] = f.next_request();
    // Logic took the broker's accounts away (Push.resync) while this RECONNECT was at it.
    proto::Push resync;
    resync.set_resync(true);
    f.bus.publish(bus::subjects::broker_push("b1"), resync.SerializeAsString());
    f.bus.flush(2s);
    std::this_thread::sleep_for(200ms);  // the broker has seen the resync before the reply
    f.answer_reconnect(reconnect_to, page(1, 10, false));
    CHECK(client.wait_response("RECONNECT", 5s).value("code", -1) == 0);

    auto [again_to, again] = f.next_request();
    REQUIRE(again.has_resume());
    CHECK(again.resume().from_size() == 0);  // from the start: the client drops what it has
    f.answer_resume(again_to, page(1, 12, false));
    f.publish_push(13);
    auto ids = received_msg_ids(client, 13);
    auto expected = range(1, 10);
    for (auto id : range(1, 13)) expected.push_back(id);
    CHECK(ids == expected);
}
