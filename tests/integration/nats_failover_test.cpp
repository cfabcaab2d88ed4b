// bus::connection given every node of a NATS cluster (nats.url as a list): it connects
// to a live node and, when that node dies, goes on on another one.
#include <catch2/catch.hpp>

#include "deploy/stack/system.hpp"
#include "shared/bus/nats_connection.hpp"
#include "shared/log/logger.hpp"
#include "tests/support/stack.hpp"

using namespace chat;
using namespace std::chrono_literals;

namespace {

/// The index of the node that lists a connection named `name`, or -1.
int node_of(stack::system& s, const std::string& name) {
    for (std::size_t i = 0; i < s.nats_count(); ++i) {
        if (!s.nats(i).process().running()) continue;
        auto connz = s.nats(i).monitor("/connz");
        for (auto& conn : connz.value("connections", nlohmann::json::array()))
            if (conn.value("name", std::string()) == name) return static_cast<int>(i);
    }
    return -1;
}

}  // namespace

TEST_CASE(
    "a connection given every node's URL skips a dead node and fails over when its node dies") {
    stack::options o;
    o.postgres = false;
    o.services = false;
    o.nats_nodes = 3;
    stack::system s(o);
    s.kill9(s.nats(0).name());  // the first URL of the list names a dead node

    auto log = log::make_service_logger("failover-test", "warn");
    bus::connection conn({s.nats_urls(0), "failover-test"}, log);
    REQUIRE(
        test::wait_until([&] { return conn.connected() && node_of(s, "failover-test") > 0; }, 10s));
    const int first = node_of(s, "failover-test");

    s.kill9(s.nats(first).name());
    REQUIRE(
        test::wait_until([&] { return node_of(s, "failover-test") > 0 && conn.connected(); }, 15s));
    CHECK(node_of(s, "failover-test") != first);
}
