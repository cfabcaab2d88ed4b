// Pushes logic makes itself (a resync after reaping a broker, a kick after RECONNECT) go
// through the dispatcher (chat.dispatch.push), the one publisher of broker.<id>.push: on a
// locked bus logic's NATS user may not publish pushes.
#include <catch2/catch.hpp>
#include <mutex>

#include "services/dispatcher/src/dispatcher_service.hpp"
#include "services/logic/src/logic_service.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/log/logger.hpp"
#include "shared/proto/chat.pb.h"
#include "shared/util/token.hpp"
#include "tests/integration/pg_fixture.hpp"
#include "tests/support/stack.hpp"

using namespace chat;
using namespace std::chrono_literals;
namespace subjects = bus::subjects;

namespace {

/// What is published on a subject, decoded.
template <typename Message>
struct recorder {
    std::mutex mutex;
    std::vector<Message> got;
    void record(bus::message&& m) {
        Message message;  // an undecodable one is recorded empty, and fails the checks
        message.ParseFromArray(m.data().data(), static_cast<int>(m.data().size()));
        std::lock_guard lock(mutex);
        got.push_back(std::move(message));
    }
    std::vector<Message> all() {
        std::lock_guard lock(mutex);
        return got;
    }
};

}  // namespace

TEST_CASE(
    "a reaped broker's resync reaches it through the dispatcher, and logic publishes no push "
    "itself") {
    test::pg_fixture pg;
    test::nats_server nats{pg.dir.path()};
    auto log = log::make_service_logger("push-route-test", "warn");
    bus::connection client{{nats.url(), "push-route-test"}, log};
    recorder<proto::RoutedPush> routed;
    recorder<proto::Push> b8, b9;
    auto routed_sub = client.subscribe(std::string(subjects::k_dispatch_push),
                                       [&](bus::message&& m) { routed.record(std::move(m)); });
    auto b8_sub = client.subscribe(subjects::broker_push("b8"),
                                   [&](bus::message&& m) { b8.record(std::move(m)); });
    auto b9_sub = client.subscribe(subjects::broker_push("b9"),
                                   [&](bus::message&& m) { b9.record(std::move(m)); });
    client.flush(2s);

    // An account on broker b9, which never says hello nor sends a heartbeat.
    auto store = pg.make_store();
    store->create_account("ghost", util::sha256_hex("t"), {"b9", "e/1", ""});
    logic::logic_settings ls;
    ls.workers = 1;
    ls.nats.url = nats.url();
    ls.postgres.url = pg.db.url();
    ls.broker_timeout = 300ms;
    ls.sweep_interval = 100ms;
    logic::logic_service logic(ls, log);

    // Logic reaps b9 and hands the dispatcher a resync for it...
    REQUIRE(test::wait_until([&] { return !routed.all().empty(); }, 10s));
    const auto first = routed.all().front();
    CHECK(first.broker_id() == "b9");
    CHECK(first.push().resync());
    // ... and with no dispatcher running, nobody publishes it to the broker.
    std::this_thread::sleep_for(500ms);
    CHECK(b9.all().empty());

    // With a dispatcher, the resync of the next reaped broker (b8) arrives, once.
    dispatcher::dispatcher_settings ds;
    ds.workers = 1;
    ds.nats.url = nats.url();
    ds.postgres.url = pg.db.url();
    dispatcher::dispatcher_service dispatcher(ds, log);
    std::this_thread::sleep_for(200ms);  // its subscriptions reach the server
    store->create_account("ghost-2", util::sha256_hex("t"), {"b8", "e/2", ""});
    REQUIRE(test::wait_until([&] { return !b8.all().empty(); }, 10s));
    std::this_thread::sleep_for(500ms);
    const auto pushes = b8.all();
    REQUIRE(pushes.size() == 1);
    CHECK(pushes.front().resync());
    CHECK(pushes.front().deliveries_size() == 0);
    CHECK(b9.all().empty());
}
