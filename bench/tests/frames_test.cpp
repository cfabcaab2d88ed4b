#include "bench/frames.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace chat::bench;
using json = nlohmann::json;

TEST_CASE("a DIALOGUE's content carries its send time, client and sequence, padded") {
    const auto content = dialogue_content(123456789, 7, 42, 100);
    CHECK(content.size() == 100);
    CHECK(content.rfind("t=123456789;c=7;s=42;x", 0) == 0);
    CHECK(timestamp_of(content) == 123456789);
    CHECK(dialogue_content(1, 2, 3, 4) == "t=1;c=2;s=3;");  // never cut below its fields
}

TEST_CASE("content without a leading timestamp has none") {
    CHECK(timestamp_of("") == 0);
    CHECK(timestamp_of("hello") == 0);
    CHECK(timestamp_of("t=") == 0);
    CHECK(timestamp_of("t=x;") == 0);
}

TEST_CASE("the frames are the protocol's JSON") {
    const auto dialogue = json::parse(dialogue_frame(5, 11, 22, "t=1;c=0;s=5;"));
    CHECK(dialogue == json{{"cmd", "DIALOGUE"},
                           {"requestId", 5},
                           {"senderId", 11},
                           {"sessionId", 22},
                           {"content", "t=1;c=0;s=5;"}});
    CHECK(json::parse(login_frame("bench", 12)) ==
          json{{"cmd", "CRT_ACCOUNT"}, {"nickName", "bench12"}});
    CHECK(json::parse(pong_frame(9)) == json{{"cmd", "PONG"}, {"accountId", 9}});
    CHECK(json::parse(ack_frame(3, 44)) == json{{"cmd", "ACK"}, {"sessionId", 3}, {"msgId", 44}});
    CHECK(json::parse(match_frame(9)) == json{{"cmd", "MATCH"}, {"accountId", 9}});
    CHECK(json::parse(match_frame(9, {})) == json{{"cmd", "MATCH"}, {"accountId", 9}});
    CHECK(json::parse(match_frame(9, {"t1", "t2"})) ==
          json{{"cmd", "MATCH"}, {"accountId", 9}, {"interests", {"t1", "t2"}}});
    CHECK(json::parse(leave_frame(31)) == json{{"cmd", "LEAVE"}, {"sessionId", 31}});
}

TEST_CASE("fields of the broker's frames read as integers, or a default") {
    const auto f = json::parse(R"({"cmd":"DIALOGUE","code":0,"msgId":17,"x":"1"})");
    CHECK(code_of(f) == 0);
    CHECK(int_field(f, "msgId") == 17);
    CHECK(int_field(f, "x") == 0);
    CHECK(int_field(f, "missing") == 0);
    CHECK(code_of(json::parse(R"({"cmd":"PING"})")) == -1);
}
