// chat-logic's service loop over a real nats-server and PostgreSQL: requests in, replies
// and dispatcher wake-ups out, exactly one reply per request across a queue group.
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>

#include "services/logic/src/logic_service.hpp"
#include "tests/integration/pg_fixture.hpp"
#include "shared/bus/requester.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/log/logger.hpp"
#include "tests/support/stack.hpp"

using namespace chat;
namespace subjects = bus::subjects;

namespace {

struct logic_fixture {
    test::pg_fixture pg;
    test::nats_server nats{pg.dir.path()};
    std::shared_ptr<spdlog::logger> log = log::make_service_logger("logic-test", "warn");
    bus::connection client{{nats.url(), "logic-test-client"}, log};
    bus::requester requester{client, "_INBOX.logic-test"};

    logic::logic_settings settings() const {
        logic::logic_settings s;
        s.workers = 2;
        s.nats.url = nats.url();
        s.postgres.url = pg.db.url_as(stack::k_logic_role);
        s.sweep_interval = std::chrono::milliseconds(100);
        return s;
    }

    /// Sends a request and waits for its reply (retrying while logic subscribes).
    proto::Reply ask(std::string_view subject, const proto::Request& request) {
        for (int attempt = 0; attempt < 50; ++attempt) {
            std::mutex m;
            std::condition_variable cv;
            bool done = false;
            bus::request_status status{};
            proto::Reply reply;
            requester.request(std::string(subject), request.SerializeAsString(), std::chrono::seconds(5),
                              [&](bus::request_status s, std::string_view data) {
                                  std::lock_guard lock(m);
                                  status = s;
                                  if (s == bus::request_status::replied)
                                      reply.ParseFromArray(data.data(), static_cast<int>(data.size()));
                                  done = true;
                                  cv.notify_one();
                              });
            std::unique_lock lock(m);
            cv.wait(lock, [&] { return done; });
            if (status == bus::request_status::replied) return reply;
            WARN("request on " << subject << " not answered: status " << static_cast<int>(status));
            std::this_thread::sleep_for(std::chrono::milliseconds(100));  // no responders yet
        }
        FAIL("logic never answered");
        return {};
    }
};

proto::Request with_origin(std::int64_t account_id, const std::string& conn_key) {
    proto::Request r;
    r.mutable_origin()->set_broker_id("b1");
    r.mutable_origin()->set_conn_key(conn_key);
    r.mutable_origin()->set_account_id(account_id);
    return r;
}

}  // namespace

TEST_CASE("logic answers commands over NATS and wakes the dispatcher after each commit") {
    logic_fixture f;
    std::mutex wake_mutex;
    std::vector<proto::Wake> wakes;
    auto wake_sub = f.client.subscribe(std::string(subjects::k_dispatch_wake), [&](bus::message&& m) {
        proto::Wake w;
        w.ParseFromArray(m.data().data(), static_cast<int>(m.data().size()));
        std::lock_guard lock(wake_mutex);
        wakes.push_back(w);
    });
    logic::logic_service service(f.settings(), f.log);

    auto create = [&](const std::string& nick, const std::string& conn_key) {
        auto r = with_origin(0, conn_key);
        r.mutable_create_account()->set_nickname(nick);
        auto reply = f.ask(subjects::k_create_account, r);
        REQUIRE(reply.code() == 0);
        CHECK(reply.create_account().token().size() == 64);
        return reply.create_account().account_id();
    };
    const auto a = create("alice", "e1/1");
    const auto b = create("bob", "e1/2");

    auto match = with_origin(a, "e1/1");
    match.mutable_match()->set_account_id(a);
    auto matched = f.ask(subjects::k_match, match);
    REQUIRE(matched.code() == 0);
    CHECK(matched.match().partner_id() == b);
    const auto session = matched.match().session_id();

    auto dialogue = with_origin(a, "e1/1");
    for (int i = 1; i <= 3; ++i) {
        auto* item = dialogue.mutable_dialogue()->add_items();
        item->set_request_id("r" + std::to_string(i));
        item->set_sender_id(a);
        item->set_session_id(session);
        item->set_content("hello " + std::to_string(i));
    }
    auto stored = f.ask(subjects::k_dialogue, dialogue);
    REQUIRE(stored.dialogue().results_size() == 3);
    for (int i = 0; i < 3; ++i) {
        CHECK(stored.dialogue().results(i).code() == 0);
        CHECK(stored.dialogue().results(i).msg_id() == i + 1);
    }
    // By the time the reply arrived the rows were committed.
    CHECK(f.pg.count("SELECT count(*) FROM messages WHERE session_id = " + std::to_string(session)) == 3);

    const int partition = static_cast<int>(session % 32);
    CHECK(test::wait_until(
        [&] {
            std::lock_guard lock(wake_mutex);
            for (const auto& w : wakes)
                for (int p : w.partitions())
                    if (p == partition) return wakes.size() >= 2;  // match and dialogue both woke
            return false;
        },
        std::chrono::seconds(5)));
}

TEST_CASE("logic checks commands again: spoofed senders, missing origins and garbage are refused") {
    logic_fixture f;
    logic::logic_service service(f.settings(), f.log);

    auto create = with_origin(0, "e1/1");
    create.mutable_create_account()->set_nickname("alice");
    const auto a = f.ask(subjects::k_create_account, create).create_account().account_id();
    REQUIRE(a > 0);

    auto spoofed = with_origin(a, "e1/1");
    spoofed.mutable_match()->set_account_id(a + 1000);
    CHECK(f.ask(subjects::k_match, spoofed).code() == static_cast<int>(wire::code::forbidden));

    auto anonymous = with_origin(0, "e1/9");
    anonymous.mutable_match()->set_account_id(a);
    CHECK(f.ask(subjects::k_match, anonymous).code() == static_cast<int>(wire::code::not_logged_in));

    proto::Request no_origin;
    no_origin.mutable_create_account()->set_nickname("x");
    CHECK(f.ask(subjects::k_create_account, no_origin).code() == static_cast<int>(wire::code::param_error));

    auto bad_nick = with_origin(0, "e1/3");
    bad_nick.mutable_create_account()->set_nickname(std::string(100, 'n'));
    CHECK(f.ask(subjects::k_create_account, bad_nick).code() == static_cast<int>(wire::code::param_error));

    auto bad_content = with_origin(a, "e1/1");
    auto* item = bad_content.mutable_dialogue()->add_items();
    item->set_request_id("r1");
    item->set_sender_id(a);
    item->set_session_id(1);
    item->set_content(std::string("\xC3\x28"));
    // protobuf itself refuses invalid UTF-8 in a string field: the whole request is refused.
    CHECK(f.ask(subjects::k_dialogue, bad_content).code() == static_cast<int>(wire::code::param_error));
    CHECK(f.pg.count("SELECT count(*) FROM messages") == 0);

    // Bytes that are not a Request at all.
    std::mutex m;
    std::condition_variable cv;
    std::optional<proto::Reply> reply;
    f.requester.request(std::string(subjects::k_match), "\xff\xff\xff garbage", std::chrono::seconds(5),
                        [&](bus::request_status s, std::string_view data) {
                            std::lock_guard lock(m);
                            reply.emplace();
                            if (s == bus::request_status::replied)
                                reply->ParseFromArray(data.data(), static_cast<int>(data.size()));
                            else
                                reply->set_code(-1);
                            cv.notify_one();
                        });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return reply.has_value(); });
    CHECK(reply->code() == static_cast<int>(wire::code::param_error));
    CHECK(f.pg.count("SELECT count(*) FROM accounts") == 1);
}

TEST_CASE("two logic processes share the queue group: every request answered once") {
    logic_fixture f;
    logic::logic_service one(f.settings(), f.log);
    logic::logic_service two(f.settings(), f.log);
    for (int i = 0; i < 40; ++i) {
        auto r = with_origin(0, "e1/" + std::to_string(i));
        r.mutable_create_account()->set_nickname("n" + std::to_string(i));
        CHECK(f.ask(subjects::k_create_account, r).code() == 0);
    }
    CHECK(f.pg.count("SELECT count(*) FROM accounts") == 40);
}
