// The client's address behind a proxy (http.trusted_proxies): a trusted peer's
// X-Forwarded-For names the client, so per-address limits are per person behind nginx;
// anyone else's X-Forwarded-For is ignored, so it cannot be used to escape a limit.
// Loopback takes any 127.x.y.z source address: 127.0.0.1 plays nginx, 127.0.1.N people
// who connect directly.
#include <memory>
#include <stdexcept>

#include "tests/e2e/e2e.hpp"

using namespace chat::test;
using namespace chat::test::e2e;

namespace {

constexpr int k_connections_per_address = 3;  // limits.connections_per_minute_per_address
constexpr int k_accounts_per_address = 2;     // limits.accounts_per_minute_per_address

stack_options behind_proxy() {
    stack_options o;
    // After service_stack's own sets (which turn these limits off), so these win.
    o.sets = {"http.trusted_proxies=[127.0.0.1, '::1']",
              "limits.connections_per_minute_per_address=" + std::to_string(k_connections_per_address),
              "limits.accounts_per_minute_per_address=" + std::to_string(k_accounts_per_address)};
    return o;
}

ws_client::options from(const std::string& local_address, const std::string& forwarded_for = "") {
    ws_client::options o;
    o.local_address = local_address;
    if (!forwarded_for.empty()) o.headers = {{"X-Forwarded-For", forwarded_for}};
    return o;
}

/// A connection, or null when the broker refused the upgrade (here only 429 can: no
/// Origin is sent and the path is /ws).
std::unique_ptr<ws_client> try_connect(service_stack& stack, const ws_client::options& o) {
    try {
        return stack.connect(0, o);
    } catch (const std::runtime_error&) {
        return nullptr;
    }
}

/// How many of `attempts` upgrades the broker accepted; the clients stay open in `keep`.
int accepted(service_stack& stack, const ws_client::options& o, int attempts,
             std::vector<std::unique_ptr<ws_client>>& keep) {
    int ok = 0;
    for (int i = 0; i < attempts; ++i)
        if (auto c = try_connect(stack, o)) {
            ++ok;
            keep.push_back(std::move(c));
        }
    return ok;
}

int create_account_code(ws_client& c, const std::string& nick) {
    return code_of(c.request({{"cmd", "CRT_ACCOUNT"}, {"nickName", nick}}));
}

}  // namespace

TEST_CASE("behind a trusted proxy each X-Forwarded-For address has its own per-address limits",
          "[e2e][proxy]") {
    service_stack stack(behind_proxy());
    std::vector<std::unique_ptr<ws_client>> keep;
    const auto proxy = [](const std::string& xff) { return from("127.0.0.1", xff); };

    // One person behind nginx uses up their own connection limit ...
    CHECK(accepted(stack, proxy("203.0.113.1"), k_connections_per_address + 1, keep) == k_connections_per_address);
    // ... a lie they put in front of what nginx appended does not get them a new one ...
    CHECK(accepted(stack, proxy("198.51.100.77, 203.0.113.1"), 1, keep) == 0);
    // ... and nobody else shares it: other people behind the same proxy connect.
    CHECK(accepted(stack, proxy("203.0.113.2"), k_connections_per_address, keep) == k_connections_per_address);
    CHECK(accepted(stack, proxy("2001:db8::5"), 1, keep) == 1);
    // A hop through another trusted proxy is skipped: this is 203.0.113.3.
    CHECK(accepted(stack, proxy("203.0.113.3, 127.0.0.1"), k_connections_per_address + 1, keep) ==
          k_connections_per_address);
    CHECK(accepted(stack, proxy("203.0.113.3"), 1, keep) == 0);
    // Garbage where the proxy wrote: nothing is believed, the proxy's own address counts
    // (whose limit the stack's readiness probe has already used a little).
    const int garbage = accepted(stack, proxy("not-an-address"), 1, keep) +
                        accepted(stack, proxy("203.0.113.9:5555"), k_connections_per_address, keep);
    CHECK(garbage >= 1);
    CHECK(garbage < k_connections_per_address + 1);
    CHECK(accepted(stack, from("127.0.0.1"), 1, keep) == 0);  // that was 127.0.0.1's limit
    CHECK(accepted(stack, proxy("[2001:db8::1]"), 1, keep) == 0);
    CHECK(accepted(stack, proxy("203.0.113.9"), 1, keep) == 1);  // readable: a person of their own

    // New accounts are limited per person behind the proxy too.
    auto a1 = try_connect(stack, proxy("203.0.113.20"));
    auto a2 = try_connect(stack, proxy("203.0.113.20"));
    auto other = try_connect(stack, proxy("203.0.113.21"));
    REQUIRE((a1 && a2 && other));
    CHECK(create_account_code(*a1, "a") == 0);
    CHECK(create_account_code(*a2, "b") == 0);
    auto a3 = try_connect(stack, proxy("203.0.113.20"));
    REQUIRE(a3);
    check_error(a3->request({{"cmd", "CRT_ACCOUNT"}, {"nickName", "c"}}), "CRT_ACCOUNT", 12);
    CHECK(create_account_code(*other, "d") == 0);
    check_services_alive(stack);
}

TEST_CASE("from a peer that is not a trusted proxy, X-Forwarded-For is ignored", "[e2e][proxy]") {
    service_stack stack(behind_proxy());
    std::vector<std::unique_ptr<ws_client>> keep;
    // Someone connecting directly from 127.0.1.7 claims a new address each time.
    int ok = 0;
    for (int i = 0; i <= k_connections_per_address; ++i)
        ok += accepted(stack, from("127.0.1.7", "203.0.113." + std::to_string(100 + i)), 1, keep);
    CHECK(ok == k_connections_per_address);
    CHECK(accepted(stack, from("127.0.1.7", "127.0.0.1"), 1, keep) == 0);
    // Another direct address is another person.
    CHECK(accepted(stack, from("127.0.1.8", "203.0.113.100"), 1, keep) == 1);
    // The spoofed addresses got nothing either: 203.0.113.100 behind the proxy is fresh.
    CHECK(accepted(stack, from("127.0.0.1", "203.0.113.100"), k_connections_per_address, keep) ==
          k_connections_per_address);

    // The same for new accounts.
    REQUIRE(keep.size() >= 3);
    CHECK(create_account_code(*keep[0], "x") == 0);
    CHECK(create_account_code(*keep[1], "y") == 0);
    check_error(keep[2]->request({{"cmd", "CRT_ACCOUNT"}, {"nickName", "z"}}), "CRT_ACCOUNT", 12);
    check_services_alive(stack);
}

TEST_CASE("behind the real nginx each client address has its own limit, whatever it claims",
          "[e2e][proxy]") {
    // One broker: the per-address limits are each broker's own.
    stack_options o = behind_proxy();
    o.nginx = true;  // the stack makes the broker trust 127.0.0.1, nginx's address
    o.sets = {"limits.connections_per_minute_per_address=" + std::to_string(k_connections_per_address)};
    service_stack stack(o);
    std::vector<std::unique_ptr<ws_client>> keep;
    auto through_nginx = [&](const ws_client::options& from_person, int attempts) {
        int ok = 0;
        for (int i = 0; i < attempts; ++i) {
            try {
                keep.push_back(stack.connect_front(from_person));
                ++ok;
            } catch (const std::runtime_error&) {
                // nginx passed the broker's 429 on
            }
        }
        return ok;
    };
    CHECK(through_nginx(from("127.0.1.11"), k_connections_per_address + 1) == k_connections_per_address);
    // A header of their own is kept by nginx, but the address nginx appends decides.
    CHECK(through_nginx(from("127.0.1.11", "203.0.113.50"), 1) == 0);
    // Another person behind the same nginx is not limited by the first one.
    CHECK(through_nginx(from("127.0.1.12"), k_connections_per_address) == k_connections_per_address);
    auto c = stack.connect_front(from("127.0.1.13"));
    CHECK(create_account_code(*c, "behind-nginx") == 0);
    check_services_alive(stack);
}

TEST_CASE("through nginx, connections held open spread over both brokers, also after one refused while restarting",
          "[e2e][proxy]") {
    stack_options o;
    o.brokers = 2;
    o.nginx = true;
    service_stack stack(o);
    // b1 goes away and comes back; one person connects meanwhile (nginx finds b1 refusing).
    stack.system().stop("broker-b1");
    auto meanwhile = stack.connect_front();
    stack.system().start("broker-b1");

    std::vector<std::unique_ptr<ws_client>> people;
    for (int i = 0; i < 10; ++i) people.push_back(stack.connect_front());
    for (auto& p : people) CHECK(create_account_code(*p, "spread") == 0);
    people.clear();
    meanwhile.reset();
    // nginx logs a WebSocket when it closes, naming the broker it went to.
    const auto log = stack.system().dir() / "nginx" / "access.log";
    int on[2] = {0, 0};
    CHECK(wait_until(
        [&] {
            auto text = read_file(log);
            for (std::size_t b = 0; b < 2; ++b) {
                on[b] = 0;
                const auto needle = "\"GET /ws HTTP/1.1\" 101 upstream=127.0.0.1:" + std::to_string(stack.broker_port(b)) + "\n";
                for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++on[b];
            }
            return on[0] + on[1] >= 10;  // the ten (the first one tried b1, then b2)
        },
        10s));
    INFO("b1 " << on[0] << ", b2 " << on[1]);
    // least_conn: the ten held connections are shared out, whatever b1 did before.
    CHECK(on[0] >= 4);
    CHECK(on[1] >= 4);
}
