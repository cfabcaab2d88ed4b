#include "bench/verify.hpp"

#include <catch2/catch.hpp>

using chat::bench::side_record;
using chat::bench::verify;

namespace {

// Session 5 between accounts 1 and 2. Account 1 sent msgIds odd, account 2 even.
std::vector<side_record> clean_session() {
    side_record a{5, 1, 2, {{1, 1}, {2, 3}, {3, 5}}, {2, 4}};
    side_record b{5, 2, 1, {{1, 2}, {2, 4}}, {1, 3, 5}};
    return {a, b};
}

}  // namespace

TEST_CASE("a clean exchange passes") {
    auto v = verify(clean_session());
    CHECK(v.ok());
    CHECK(v.sessions == 1);
    CHECK(v.acked == 5);
    CHECK(v.delivered == 5);
    CHECK(v.lost == 0);
    CHECK(v.examples.empty());
}

TEST_CASE("an acked message the partner never got is lost") {
    auto sides = clean_session();
    sides[1].received = {1, 5};  // 3 missing
    auto v = verify(sides);
    CHECK_FALSE(v.ok());
    CHECK(v.lost == 1);
    CHECK(v.delivered == 4);
    REQUIRE(v.examples.size() == 1);
    CHECK(v.examples[0].find("msgId 3") != std::string::npos);
}

TEST_CASE("a message received twice is duplicated") {
    auto sides = clean_session();
    sides[1].received = {1, 3, 3, 5};
    auto v = verify(sides);
    CHECK_FALSE(v.ok());
    CHECK(v.duplicated == 1);
    CHECK(v.out_of_order == 0);
    CHECK(v.lost == 0);
}

TEST_CASE("a redelivery of an old message counts as duplicated, not out of order") {
    auto sides = clean_session();
    sides[1].received = {1, 3, 5, 1};
    auto v = verify(sides);
    CHECK(v.duplicated == 1);
    CHECK(v.out_of_order == 0);
}

TEST_CASE("a lower msgId after a higher one is out of order") {
    auto sides = clean_session();
    sides[1].received = {1, 5, 3};
    auto v = verify(sides);
    CHECK_FALSE(v.ok());
    CHECK(v.out_of_order == 1);
    CHECK(v.duplicated == 0);
    CHECK(v.lost == 0);
}

TEST_CASE("msgIds must rise in send order") {
    auto sides = clean_session();
    sides[0].acked = {{2, 1}, {1, 3}, {3, 5}};  // send 2 got msgId 1, send 1 got 3
    auto v = verify(sides);
    CHECK_FALSE(v.ok());
    CHECK(v.send_order_violations == 1);
}

TEST_CASE("answers may arrive out of order without a violation") {
    auto sides = clean_session();
    sides[0].acked = {{3, 5}, {1, 1}, {2, 3}};
    CHECK(verify(sides).ok());
}

TEST_CASE("one msgId given to two sends is a conflict") {
    auto sides = clean_session();
    sides[1].acked = {{1, 2}, {2, 3}};  // 3 is also account 1's
    sides[0].received = {2, 3};
    auto v = verify(sides);
    CHECK_FALSE(v.ok());
    CHECK(v.msg_id_conflicts == 1);
}

TEST_CASE("a delivery the sender saw no answer for is counted, not failed") {
    auto sides = clean_session();
    sides[1].received = {1, 3, 5, 7};
    auto v = verify(sides);
    CHECK(v.ok());
    CHECK(v.delivered_unacked == 1);
}

TEST_CASE("a session with one recorded member is not checked") {
    auto sides = clean_session();
    sides.pop_back();
    auto v = verify(sides);
    CHECK(v.sessions == 0);
    CHECK(v.half_sessions == 1);
    CHECK(v.acked == 0);
}

TEST_CASE("examples are capped") {
    side_record a{9, 1, 2, {}, {}};
    side_record b{9, 2, 1, {}, {}};
    for (std::uint64_t i = 1; i <= 50; ++i) a.acked.emplace_back(i, static_cast<std::int64_t>(i));
    auto v = verify({a, b}, 3);
    CHECK(v.lost == 50);
    CHECK(v.examples.size() == 3);
}

TEST_CASE("one msgId answered to two sends of one side is a conflict, counted once") {
    auto sides = clean_session();
    sides[0].acked = {{1, 1}, {2, 1}, {3, 5}};
    sides[1].received = {1, 5};
    auto v = verify(sides);
    CHECK_FALSE(v.ok());
    CHECK(v.msg_id_conflicts == 1);
    CHECK(v.lost == 0);
    CHECK(v.delivered == 4);  // 1 and 5 one way, 2 and 4 the other
}
