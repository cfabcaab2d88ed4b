// chat-dispatcher over a real nats-server and PostgreSQL: inbox rows become pushes on
// broker.<id>.push exactly once and in msgId order per session, also with two
// dispatchers at once and after one of them stops.
#include <catch2/catch.hpp>
#include <map>
#include <mutex>

#include "services/dispatcher/src/dispatcher_service.hpp"
#include "services/dispatcher/src/drainer.hpp"
#include "tests/integration/pg_fixture.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/proto/chat.pb.h"
#include "shared/log/logger.hpp"
#include "shared/util/token.hpp"
#include "tests/support/stack.hpp"

using namespace chat;

namespace {

/// Everything published on broker.b1.push, by receiver and session.
struct push_recorder {
    std::mutex mutex;
    std::map<std::pair<std::int64_t, std::int64_t>, std::vector<std::int64_t>> messages;  // (receiver, session) → msgIds
    std::vector<proto::Delivery> signal_deliveries;
    std::size_t total_messages = 0;

    void record(bus::message&& m) {
        proto::Push push;
        REQUIRE(push.ParseFromArray(m.data().data(), static_cast<int>(m.data().size())));
        std::lock_guard lock(mutex);
        for (const auto& d : push.deliveries()) {
            if (d.kind() == proto::Delivery::MESSAGE) {
                messages[{d.receiver_id(), d.session_id()}].push_back(d.msg_id());
                ++total_messages;
            } else {
                signal_deliveries.push_back(d);
            }
        }
    }
    std::size_t count() {
        std::lock_guard lock(mutex);
        return total_messages;
    }
};

struct dispatcher_fixture {
    test::pg_fixture pg;
    test::nats_server nats{pg.dir.path()};
    std::shared_ptr<spdlog::logger> log = log::make_service_logger("dispatcher-test", "warn");
    bus::connection client{{nats.url(), "dispatcher-test-client"}, log};
    push_recorder pushes;
    bus::subscription sub = client.subscribe(bus::subjects::broker_push("b1"),
                                             [this](bus::message&& m) { pushes.record(std::move(m)); });

    dispatcher::dispatcher_settings settings() const {
        dispatcher::dispatcher_settings s;
        s.workers = 2;
        s.batch_max = 50;
        s.nats.url = nats.url();
        s.postgres.url = pg.db.url_as(stack::k_dispatcher_role);
        s.sweep_interval = std::chrono::milliseconds(200);
        s.rebalance_interval = std::chrono::milliseconds(100);
        return s;
    }

    /// `pairs` sessions with `per_session` messages each way, stored in interleaved batches.
    std::vector<std::int64_t> make_traffic(int pairs, int per_session) {
        auto s = pg.make_store();
        logic::partition_set woken;
        std::vector<std::pair<std::int64_t, std::int64_t>> members;
        std::vector<std::int64_t> sessions;
        for (int p = 0; p < pairs; ++p) {
            const auto a = s->create_account("a", util::sha256_hex("t"), {"b1", "e/" + std::to_string(2 * p), ""});
            const auto b = s->create_account("b", util::sha256_hex("t"), {"b1", "e/" + std::to_string(2 * p + 1), ""});
            sessions.push_back(pg.open_session(a, b));
            members.emplace_back(a, b);
        }
        for (int i = 0; i < per_session; ++i) {
            std::vector<logic::dialogue_item> batch;
            for (int p = 0; p < pairs; ++p) {
                const auto sender = i % 2 ? members[p].second : members[p].first;
                batch.push_back({sessions[p], sender, "r" + std::to_string(i), "m" + std::to_string(i)});
            }
            s->store_dialogues(batch, woken);
        }
        return sessions;
    }

    void check_all_delivered_once_in_order(int pairs, int per_session) {
        std::lock_guard lock(pushes.mutex);
        CHECK(pushes.total_messages == static_cast<std::size_t>(pairs * per_session));
        for (const auto& [key, ids] : pushes.messages)
            for (std::size_t i = 1; i < ids.size(); ++i) {
                INFO("receiver " << key.first << " session " << key.second);
                REQUIRE(ids[i] > ids[i - 1]);  // strictly increasing: in order and no duplicate
            }
    }
};

}  // namespace

TEST_CASE("inbox rows are pushed to the receiver's broker in msgId order and then removed") {
    dispatcher_fixture f;
    auto s = f.pg.make_store();
    logic::partition_set woken;
    const auto a = s->create_account("alice", util::sha256_hex("t"), {"b1", "e/1", ""});
    const auto b = s->create_account("bob", util::sha256_hex("t"), {"b1", "e/2", ""});
    const auto session = s->match({a, {}}, woken).session_id;
    std::vector<logic::dialogue_item> items;
    for (int i = 0; i < 120; ++i) items.push_back({session, i % 3 ? a : b, "r" + std::to_string(i), "hi"});
    s->store_dialogues(items, woken);

    dispatcher::dispatcher_service service(f.settings(), f.log);
    REQUIRE(test::wait_until([&] { return f.pushes.count() == 120; }, std::chrono::seconds(10)));
    f.check_all_delivered_once_in_order(1, 120);
    {
        std::lock_guard lock(f.pushes.mutex);
        REQUIRE(f.pushes.signal_deliveries.size() == 1);
        CHECK(f.pushes.signal_deliveries[0].kind() == proto::Delivery::NEW_SESSION);
        CHECK(f.pushes.signal_deliveries[0].receiver_id() == b);
        CHECK(f.pushes.signal_deliveries[0].peer_name() == "alice");
    }
    CHECK(test::wait_until([&] { return f.pg.count("SELECT count(*) FROM inbox") == 0; }, std::chrono::seconds(5)));
}

TEST_CASE("a drain whose pushes do not reach nats-server keeps its rows for the next drain") {
    dispatcher_fixture f;
    f.make_traffic(2, 3);
    const auto stored = f.pg.count("SELECT count(*) FROM inbox");
    REQUIRE(stored > 0);
    dispatcher::drainer d(std::make_unique<pqxx::connection>(f.pg.db.url_as(stack::k_dispatcher_role)), 100);
    std::set<int> all;
    for (int p = 0; p < d.partitions(); ++p) all.insert(p);
    bus::connection pusher({f.nats.url(), "dispatcher-test-pusher"}, f.log);

    f.nats.stop();
    CHECK_THROWS_AS(d.drain(all, pusher), bus::nats_error);  // the flush fails
    CHECK(f.pg.count("SELECT count(*) FROM inbox") == stored);

    f.nats.restart();
    REQUIRE(test::wait_until(
        [&] {
            try {
                return d.drain(all, pusher) == static_cast<int>(stored);
            } catch (const bus::nats_error&) {
                return false;  // not reconnected yet
            }
        },
        std::chrono::seconds(10), std::chrono::milliseconds(100)));
    CHECK(f.pg.count("SELECT count(*) FROM inbox") == 0);
}

TEST_CASE("a wake-up delivers at once, long before the safety sweep") {
    dispatcher_fixture f;
    auto settings = f.settings();
    settings.sweep_interval = std::chrono::seconds(60);
    dispatcher::dispatcher_service service(settings, f.log);
    // Let the drainers take their partitions.
    REQUIRE(test::wait_until([&] { return f.pg.count("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                                                    "(SELECT oid FROM pg_database WHERE datname = current_database())") >= 34; },
                             std::chrono::seconds(10)));
    auto s = f.pg.make_store();
    logic::partition_set woken;
    const auto a = s->create_account("a", util::sha256_hex("t"), {"b1", "e/1", ""});
    s->create_account("b", util::sha256_hex("t"), {"b1", "e/2", ""});
    const auto session = s->match({a, {}}, woken).session_id;
    s->store_dialogues({{session, a, "r1", "ping"}}, woken);
    proto::Wake wake;
    for (int p : woken) wake.add_partitions(p);
    f.client.publish(std::string(bus::subjects::k_dispatch_wake), wake.SerializeAsString());
    CHECK(test::wait_until([&] { return f.pushes.count() == 1; }, std::chrono::seconds(5)));
}

TEST_CASE("two dispatchers share the partitions without double delivery or reordering") {
    dispatcher_fixture f;
    dispatcher::dispatcher_service one(f.settings(), f.log);
    dispatcher::dispatcher_service two(f.settings(), f.log);
    // Four drainers in all: each ends up owning 8 of the 32 partitions.
    CHECK(test::wait_until(
        [&] {
            return f.pg.value("SELECT string_agg(n::text, ',') FROM (SELECT count(*) AS n FROM pg_locks "
                              "WHERE locktype = 'advisory' AND classid = 1667760130 AND database = "
                              "(SELECT oid FROM pg_database WHERE datname = current_database()) GROUP BY pid) c") == "8,8,8,8";
        },
        std::chrono::seconds(10)));
    const int pairs = 20, per_session = 30;
    f.make_traffic(pairs, per_session);
    REQUIRE(test::wait_until([&] { return f.pushes.count() >= pairs * per_session; }, std::chrono::seconds(20)));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a late duplicate would show up here
    f.check_all_delivered_once_in_order(pairs, per_session);
}

TEST_CASE("when a dispatcher stops, the other takes over its partitions") {
    dispatcher_fixture f;
    auto one = std::make_unique<dispatcher::dispatcher_service>(f.settings(), f.log);
    dispatcher::dispatcher_service two(f.settings(), f.log);
    REQUIRE(test::wait_until(
        [&] { return f.pg.count("SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1667760130 "
                            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == 4; },
        std::chrono::seconds(10)));
    one->stop();
    one.reset();
    const int pairs = 10, per_session = 10;
    f.make_traffic(pairs, per_session);
    REQUIRE(test::wait_until([&] { return f.pushes.count() >= pairs * per_session; }, std::chrono::seconds(20)));
    f.check_all_delivered_once_in_order(pairs, per_session);
}
