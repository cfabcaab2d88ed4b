#include <catch2/catch.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <algorithm>
#include <memory>
#include <pqxx/except>
#include <stdexcept>
#include <string>
#include <vector>

#include "services/logic/src/group_runner.hpp"
#include "shared/wire/codes.hpp"

using chat::logic::run_alone;
using chat::logic::run_grouped;
using chat::logic::side_effects;
using chat::proto::Reply;
using chat::proto::Request;
using chat::wire::code;
using chat::wire::to_int;

namespace {

spdlog::logger& quiet_log() {
    static spdlog::logger log("group_runner_test", std::make_shared<spdlog::sinks::null_sink_mt>());
    return log;
}

// Request n: a MATCH for account n, from connection "e/n".
std::vector<Request> requests_for(int n) {
    std::vector<Request> out(n);
    for (int i = 0; i < n; ++i) {
        out[i].mutable_origin()->set_conn_key("e/" + std::to_string(i));
        out[i].mutable_match()->set_account_id(i);
    }
    return out;
}
std::vector<const Request*> pointers(const std::vector<Request>& requests) {
    std::vector<const Request*> out;
    for (const auto& r : requests) out.push_back(&r);
    return out;
}

// A transaction standing in for the database: it answers each request with its account
// id as the session id and wakes partition (account id), and throws `Failure` as soon
// as it reaches a request in `bad`; a group leaves an effect behind first, which its
// rollback undid.
template <typename Failure = std::runtime_error>
struct fake_transaction {
    std::vector<std::int64_t> bad;
    std::vector<std::size_t> group_sizes;  // one entry per call

    std::vector<Reply> operator()(const std::vector<const Request*>& group, side_effects& effects) {
        group_sizes.push_back(group.size());
        std::vector<Reply> replies;
        side_effects mine;
        for (const auto* r : group) {
            const auto account = r->match().account_id();
            if (std::find(bad.begin(), bad.end(), account) != bad.end()) {
                if (group.size() > 1) effects.pushes.emplace_back("rolled back", chat::proto::Push());
                throw Failure("request " + std::to_string(account) + " is bad");
            }
            Reply reply;
            reply.mutable_match()->set_session_id(account);
            replies.push_back(reply);
            mine.woken.insert(static_cast<int>(account));
        }
        effects.woken.insert(mine.woken.begin(), mine.woken.end());
        return replies;
    }
};

std::int64_t answered(const Reply& r) { return r.has_match() ? r.match().session_id() : -1; }
bool failed(const Reply& r) { return r.code() == to_int(code::internal_error); }

}  // namespace

TEST_CASE("a good group is one transaction, replies line up with the requests", "[group_runner]") {
    const auto requests = requests_for(4);
    fake_transaction<> tx;
    const auto out = run_grouped<pqxx::broken_connection>(pointers(requests), tx, quiet_log(), "match");
    CHECK(tx.group_sizes == std::vector<std::size_t>{4});
    REQUIRE(out.replies.size() == 4);
    for (int i = 0; i < 4; ++i) CHECK(answered(out.replies[i]) == i);
    CHECK(out.effects.woken == chat::logic::partition_set{0, 1, 2, 3});
}

TEST_CASE("one bad request in a group fails only itself", "[group_runner]") {
    const auto requests = requests_for(4);
    fake_transaction<> tx{{2}, {}};
    const auto out = run_grouped<pqxx::broken_connection>(pointers(requests), tx, quiet_log(), "match");
    // The group once, then each request alone.
    CHECK(tx.group_sizes == std::vector<std::size_t>{4, 1, 1, 1, 1});
    REQUIRE(out.replies.size() == 4);
    CHECK(answered(out.replies[0]) == 0);
    CHECK(answered(out.replies[1]) == 1);
    CHECK(failed(out.replies[2]));
    CHECK(answered(out.replies[3]) == 3);
    // Only what committed alone is published; the failed group's work rolled back.
    CHECK(out.effects.woken == chat::logic::partition_set{0, 1, 3});
    CHECK(out.effects.pushes.empty());
}

TEST_CASE("a lone request that fails is answered internal_error, not retried", "[group_runner]") {
    const auto requests = requests_for(1);
    fake_transaction<> tx{{0}, {}};
    const auto out = run_grouped<pqxx::broken_connection>(pointers(requests), tx, quiet_log(), "match");
    CHECK(tx.group_sizes == std::vector<std::size_t>{1});
    REQUIRE(out.replies.size() == 1);
    CHECK(failed(out.replies[0]));
    CHECK(out.effects.pushes.empty());
}

TEST_CASE("a lost connection is not retried: it reaches the caller", "[group_runner]") {
    const auto requests = requests_for(3);
    SECTION("from the group") {
        fake_transaction<pqxx::broken_connection> tx{{1}, {}};
        CHECK_THROWS_AS(run_grouped<pqxx::broken_connection>(pointers(requests), tx, quiet_log(), "match"),
                        pqxx::broken_connection);
        CHECK(tx.group_sizes == std::vector<std::size_t>{3});
    }
    SECTION("from a request run alone after the group failed") {
        const auto list = pointers(requests);
        int calls = 0;
        auto tx = [&](const std::vector<const Request*>& group, side_effects&) -> std::vector<Reply> {
            ++calls;
            if (group.size() > 1) throw std::runtime_error("deadlock, say");
            if (group.front() == list[1]) throw pqxx::broken_connection("server closed the connection");
            return {Reply()};
        };
        CHECK_THROWS_AS(run_grouped<pqxx::broken_connection>(list, tx, quiet_log(), "match"),
                        pqxx::broken_connection);
        CHECK(calls == 3);  // the group, request 0 alone, request 1 alone
    }
}

TEST_CASE("run_alone answers a failing command with internal_error and lets a lost connection through", "[group_runner]") {
    const auto requests = requests_for(1);
    side_effects effects;
    auto good = [](const Request& r, side_effects& e) {
        e.woken.insert(7);
        Reply reply;
        reply.mutable_match()->set_session_id(r.match().account_id() + 100);
        return reply;
    };
    CHECK(answered(run_alone<pqxx::broken_connection>(requests[0], good, effects, quiet_log())) == 100);
    CHECK(effects.woken == chat::logic::partition_set{7});

    auto bad = [](const Request&, side_effects&) -> Reply { throw std::runtime_error("constraint"); };
    CHECK(failed(run_alone<pqxx::broken_connection>(requests[0], bad, effects, quiet_log())));

    auto lost = [](const Request&, side_effects&) -> Reply { throw pqxx::broken_connection("gone"); };
    CHECK_THROWS_AS(run_alone<pqxx::broken_connection>(requests[0], lost, effects, quiet_log()),
                    pqxx::broken_connection);
}
