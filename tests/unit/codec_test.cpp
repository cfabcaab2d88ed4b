#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "shared/wire/client_frames.hpp"
#include "shared/wire/server_frames.hpp"

using namespace chat::wire;
using json = nlohmann::json;

namespace {

client_request parse_ok(const std::string& text) {
    auto result = parse_client_frame(text);
    INFO(text);
    REQUIRE(std::holds_alternative<client_request>(result));
    return std::get<client_request>(std::move(result));
}

frame_error parse_error(const std::string& text) {
    auto result = parse_client_frame(text);
    INFO(text);
    REQUIRE(std::holds_alternative<frame_error>(result));
    return std::get<frame_error>(std::move(result));
}

}  // namespace

TEST_CASE("every command parses into its request") {
    auto create = std::get<create_account_request>(parse_ok(R"({"cmd":"CRT_ACCOUNT","nickName":"  alice "})"));
    CHECK(create.nickname == "alice");

    CHECK(std::get<match_request>(parse_ok(R"({"cmd":"MATCH","accountId":7})")).account_id == 7);
    auto m = std::get<match_request>(parse_ok(R"({"cmd":"MATCH","accountId":7,"interests":[" Music ","chess"]})"));
    CHECK(m.interests == std::vector<std::string>{"Music", "chess"});
    CHECK(std::get<cancel_match_request>(parse_ok(R"({"cmd":"CANCEL_MATCH","accountId":7})")).account_id == 7);
    CHECK(std::get<leave_request>(parse_ok(R"({"cmd":"LEAVE","sessionId":3})")).session_id == 3);
    CHECK(std::get<block_request>(parse_ok(R"({"cmd":"BLOCK","sessionId":3})")).session_id == 3);
    auto rep = std::get<report_request>(parse_ok(R"({"cmd":"REPORT","sessionId":3,"reason":"spam","text":"ads"})"));
    CHECK(rep.session_id == 3);
    CHECK(rep.reason == "spam");
    CHECK(rep.text == "ads");
    CHECK(std::get<report_request>(parse_ok(R"({"cmd":"REPORT","sessionId":3,"reason":"other"})")).text.empty());
    auto typing = std::get<typing_request>(parse_ok(R"({"cmd":"TYPING","sessionId":3,"typing":false})"));
    CHECK(typing.session_id == 3);
    CHECK_FALSE(typing.typing);

    auto d = std::get<dialogue_request>(
        parse_ok(R"({"cmd":"DIALOGUE","requestId":"7:1","senderId":7,"sessionId":3,"content":"hi"})"));
    CHECK(d.request_id == "7:1");
    CHECK(d.request_id_echo == "7:1");
    CHECK(d.sender_id == 7);
    CHECK(d.session_id == 3);
    CHECK(d.content == "hi");

    auto numeric = std::get<dialogue_request>(
        parse_ok(R"({"cmd":"DIALOGUE","requestId":42,"senderId":7,"sessionId":3,"content":"hi"})"));
    CHECK(numeric.request_id == "42");
    CHECK(numeric.request_id_echo == 42);

    auto v = std::get<viewed_ack_request>(parse_ok(R"({"cmd":"VIEWED_ACK","sessionId":3,"accountId":7,"msgId":9})"));
    CHECK(v.session_id == 3);
    CHECK(v.account_id == 7);
    CHECK(v.msg_id == 9);

    CHECK(std::get<logout_request>(parse_ok(R"({"cmd":"LOGOUT","accountId":7})")).account_id == 7);

    const std::string token(64, 'a');
    auto r = std::get<reconnect_request>(parse_ok(R"({"cmd":"RECONNECT","accountId":7,"token":")" + token + "\"}"));
    CHECK(r.account_id == 7);
    CHECK(r.token == token);

    auto ack = std::get<ack_request>(parse_ok(R"({"cmd":"ACK","sessionId":3,"msgId":12})"));
    CHECK(ack.session_id == 3);
    CHECK(ack.msg_id == 12);
    CHECK(std::holds_alternative<ping_request>(parse_ok(R"({"cmd":"PING"})")));
    CHECK(std::holds_alternative<pong_request>(parse_ok(R"({"cmd":"PONG","accountId":7})")));
    CHECK(command_name(parse_ok(R"({"cmd":"MATCH","accountId":7})")) == "MATCH");
}

TEST_CASE("frames that are not a JSON object with a cmd are refused as ERROR code 1") {
    for (const char* text : {"", "not json", "{", "[1,2]", "\"DIALOGUE\"", "42", "null", "{\"cmd\":5}", "{}",
                             "{\"cmd\":null}", "{\"nickName\":\"x\"}"}) {
        auto e = parse_error(text);
        CHECK(e.cmd == "ERROR");
        CHECK(e.error_code == code::param_error);
        CHECK_FALSE(e.msg.empty());
    }
}

TEST_CASE("an unknown cmd is refused with code 7 and echoed") {
    auto e = parse_error(R"({"cmd":"FLY"})");
    CHECK(e.cmd == "FLY");
    CHECK(e.error_code == code::unknown_cmd);
    CHECK(e.msg.find("FLY") != std::string::npos);
}

TEST_CASE("missing and wrongly typed fields are refused with code 1 under the request's cmd") {
    const char* cases[] = {
        R"({"cmd":"CRT_ACCOUNT"})",
        R"({"cmd":"CRT_ACCOUNT","nickName":5})",
        R"({"cmd":"MATCH"})",
        R"({"cmd":"MATCH","accountId":"7"})",
        R"({"cmd":"MATCH","accountId":7.5})",
        R"({"cmd":"MATCH","accountId":true})",
        R"({"cmd":"MATCH","accountId":0})",
        R"({"cmd":"MATCH","accountId":-3})",
        R"({"cmd":"MATCH","accountId":18446744073709551615})",
        R"({"cmd":"DIALOGUE","senderId":7,"sessionId":3,"content":"hi"})",
        R"({"cmd":"DIALOGUE","requestId":"r","sessionId":3,"content":"hi"})",
        R"({"cmd":"DIALOGUE","requestId":"r","senderId":7,"content":"hi"})",
        R"({"cmd":"DIALOGUE","requestId":"r","senderId":7,"sessionId":3})",
        R"({"cmd":"DIALOGUE","requestId":"r","senderId":7,"sessionId":3,"content":7})",
        R"({"cmd":"DIALOGUE","requestId":{},"senderId":7,"sessionId":3,"content":"hi"})",
        R"({"cmd":"DIALOGUE","requestId":-1,"senderId":7,"sessionId":3,"content":"hi"})",
        R"({"cmd":"DIALOGUE","requestId":"","senderId":7,"sessionId":3,"content":"hi"})",
        R"({"cmd":"DIALOGUE","requestId":"a b","senderId":7,"sessionId":3,"content":"hi"})",
        R"({"cmd":"DIALOGUE","requestId":"r","senderId":7,"sessionId":3,"content":""})",
        R"({"cmd":"DIALOGUE","requestId":"r","senderId":7,"sessionId":3,"content":"   "})",
        R"({"cmd":"DIALOGUE","requestId":"r","senderId":7,"sessionId":3,"content":"a\u0000b"})",
        R"({"cmd":"VIEWED_ACK","sessionId":3,"accountId":7})",
        R"({"cmd":"VIEWED_ACK","sessionId":3,"accountId":7,"msgId":0})",
        R"({"cmd":"LOGOUT"})",
        R"({"cmd":"RECONNECT","accountId":7})",
        R"({"cmd":"RECONNECT","accountId":7,"token":"short"})",
        R"({"cmd":"ACK","sessionId":3})",
        R"({"cmd":"ACK","sessionId":3,"msgId":"12"})",
        R"({"cmd":"ACK","sessionId":0,"msgId":12})",
    };
    for (const char* text : cases) {
        auto e = parse_error(text);
        CHECK(e.error_code == code::param_error);
        CHECK(e.cmd == json::parse(text)["cmd"].get<std::string>());
    }
}

TEST_CASE("over-long content and nicknames are refused") {
    const std::string long_content(4097, 'x');
    auto e = parse_error(json{{"cmd", "DIALOGUE"}, {"requestId", "r"}, {"senderId", 7}, {"sessionId", 3},
                              {"content", long_content}}.dump());
    CHECK(e.error_code == code::param_error);
    CHECK(e.request_id_echo == "r");  // errors after a valid requestId echo it
    CHECK(std::holds_alternative<client_request>(parse_client_frame(
        json{{"cmd", "DIALOGUE"}, {"requestId", "r"}, {"senderId", 7}, {"sessionId", 3},
             {"content", std::string(4096, 'x')}}.dump())));
    CHECK(parse_error(json{{"cmd", "CRT_ACCOUNT"}, {"nickName", std::string(33, 'n')}}.dump()).error_code ==
          code::param_error);
}

TEST_CASE("invalid UTF-8 inside a frame is refused, not passed on") {
    const std::string text = "{\"cmd\":\"DIALOGUE\",\"requestId\":\"r\",\"senderId\":7,\"sessionId\":3,\"content\":\"\xC3\x28\"}";
    CHECK(parse_error(text).error_code == code::param_error);
}

TEST_CASE("the stranger-chat commands refuse what docs/protocol.md refuses") {
    const char* bad[] = {
        R"({"cmd":"MATCH","accountId":7,"interests":"music"})",
        R"({"cmd":"MATCH","accountId":7,"interests":[1]})",
        R"({"cmd":"MATCH","accountId":7,"interests":["   "]})",
        R"({"cmd":"MATCH","accountId":7,"interests":["a","b","c","d","e","f"]})",
        R"({"cmd":"MATCH","accountId":7,"interests":["0123456789012345678901234"]})",
        R"({"cmd":"MATCH","accountId":7,"interests":["ab"]})",
        R"({"cmd":"CANCEL_MATCH"})",
        R"({"cmd":"LEAVE","sessionId":0})",
        R"({"cmd":"BLOCK","sessionId":"3"})",
        R"({"cmd":"REPORT","sessionId":3})",
        R"({"cmd":"REPORT","sessionId":3,"reason":"rude"})",
        R"({"cmd":"REPORT","sessionId":3,"reason":"spam","text":5})",
        R"({"cmd":"TYPING","sessionId":3})",
        R"({"cmd":"TYPING","sessionId":3,"typing":1})",
    };
    for (const char* text : bad) {
        const auto e = parse_error(text);
        CHECK(e.error_code == code::param_error);
        CHECK_FALSE(e.msg.empty());
    }
    // 24 characters is the limit, counted in code points (each "é" is two bytes).
    CHECK(std::get<match_request>(parse_ok(R"({"cmd":"MATCH","accountId":7,"interests":["ééééééééééééééééééééééé"]})"))
              .interests.size() == 1);
    CHECK(std::get<match_request>(parse_ok(R"({"cmd":"MATCH","accountId":7,"interests":["éééééééééééééééééééééééé"]})"))
              .interests.size() == 1);
    CHECK(parse_error(R"({"cmd":"MATCH","accountId":7,"interests":["ééééééééééééééééééééééééé"]})").error_code ==
          code::param_error);
    const std::string long_text(501, 'x');
    CHECK(parse_error(R"({"cmd":"REPORT","sessionId":3,"reason":"spam","text":")" + long_text + "\"}").error_code ==
          code::param_error);
    CHECK(std::get<report_request>(
              parse_ok(R"({"cmd":"REPORT","sessionId":3,"reason":"spam","text":")" + long_text.substr(1) + "\"}"))
              .text.size() == 500);
}

TEST_CASE("server frames carry the documented fields") {
    chat::proto::CreateAccountReply c;
    c.set_account_id(5);
    c.set_nickname("bob");
    c.set_token("t");
    CHECK(json::parse(create_account_frame(c)) ==
          json{{"cmd", "CRT_ACCOUNT"}, {"nickName", "bob"}, {"accountId", 5}, {"token", "t"}, {"code", 0}});

    chat::proto::MatchReply m;
    m.set_partner_id(6);
    m.set_partner_name("eve");
    m.set_session_id(9);
    m.add_common_interests("music");
    CHECK(json::parse(match_frame(m)) == json{{"cmd", "MATCH"},
                                              {"partnerId", 6},
                                              {"partnerName", "eve"},
                                              {"sessionId", 9},
                                              {"commonInterests", {"music"}},
                                              {"code", 0}});
    chat::proto::MatchReply banned;
    banned.set_banned_until("2026-12-08T07:00:00Z");
    CHECK(json::parse(match_error_frame(code::banned, "banned", banned)) ==
          json{{"cmd", "MATCH"}, {"code", 14}, {"msg", "banned"}, {"until", "2026-12-08T07:00:00Z"}});
    CHECK(json::parse(match_error_frame(code::waiting, "waiting", {})) ==
          json{{"cmd", "MATCH"}, {"code", 13}, {"msg", "waiting"}});
    CHECK(json::parse(cancel_match_frame()) == json{{"cmd", "CANCEL_MATCH"}, {"code", 0}});
    CHECK(json::parse(session_done_frame("LEAVE", 9)) == json{{"cmd", "LEAVE"}, {"sessionId", 9}, {"code", 0}});
    CHECK(json::parse(session_error_frame("TYPING", 9, code::session_closed, "ended")) ==
          json{{"cmd", "TYPING"}, {"sessionId", 9}, {"code", 8}, {"msg", "ended"}});
    chat::proto::Typing t;
    t.set_sender_id(6);
    t.set_receiver_id(7);
    t.set_session_id(9);
    t.set_typing(true);
    CHECK(json::parse(push_typing_frame(t)) ==
          json{{"cmd", "PUSH_TYPING"}, {"sessionId", 9}, {"accountId", 6}, {"typing", true}});

    chat::proto::DialogueResult ok;
    ok.set_msg_id(3);
    CHECK(json::parse(dialogue_frame("r1", 9, ok)) ==
          json{{"cmd", "DIALOGUE"}, {"requestId", "r1"}, {"sessionId", 9}, {"msgId", 3}, {"code", 0}});
    chat::proto::DialogueResult refused;
    refused.set_code(8);
    refused.set_msg("ended");
    CHECK(json::parse(dialogue_frame(17, 9, refused)) ==
          json{{"cmd", "DIALOGUE"}, {"requestId", 17}, {"sessionId", 9}, {"code", 8}, {"msg", "ended"}});

    CHECK(json::parse(error_frame("MATCH", code::no_data, "nobody")) ==
          json{{"cmd", "MATCH"}, {"code", 4}, {"msg", "nobody"}});
    CHECK(json::parse(ping_frame(4)) == json{{"cmd", "PING"}, {"accountId", 4}});
    CHECK(json::parse(pong_frame(4)) == json{{"cmd", "PONG"}, {"accountId", 4}});
    CHECK(json::parse(logout_frame()) == json{{"cmd", "LOGOUT"}, {"code", 0}});
    CHECK(json::parse(viewed_ack_frame(9, 3)) == json{{"cmd", "VIEWED_ACK"}, {"sessionId", 9}, {"msgId", 3}, {"code", 0}});
}

TEST_CASE("push frames match the design's shapes") {
    chat::proto::Delivery d;
    d.set_receiver_id(2);
    d.set_session_id(9);

    d.set_kind(chat::proto::Delivery::MESSAGE);
    d.set_msg_id(4);
    d.set_sender_id(1);
    d.set_content("<b>hi</b>");
    CHECK(json::parse(push_frame(d)) == json{{"cmd", "PUSH_DIALOGUE"}, {"msgId", 4}, {"senderId", 1},
                                             {"sessionId", 9}, {"content", "<b>hi</b>"}});

    d.set_kind(chat::proto::Delivery::NEW_SESSION);
    d.set_peer_id(1);
    d.set_peer_name("alice");
    d.add_common_interests("chess");
    CHECK(json::parse(push_frame(d)) ==
          json{{"cmd", "PUSH_SIGNAL"}, {"signalType", "NewSession"}, {"senderId", 1}, {"sessionId", 9},
               {"receiverId", 2}, {"data", {{"accountId", 1}, {"nickName", "alice"}, {"commonInterests", {"chess"}}}}});

    d.set_kind(chat::proto::Delivery::PARTNER_EXIT);
    CHECK(json::parse(push_frame(d)) ==
          json{{"cmd", "PUSH_SIGNAL"}, {"signalType", "PartnerExit"}, {"senderId", 0}, {"sessionId", 9},
               {"receiverId", 2}, {"data", {{"accountId", 1}}}});

    d.set_kind(chat::proto::Delivery::PARTNER_AWAY);
    CHECK(json::parse(push_frame(d)) ==
          json{{"cmd", "PUSH_SIGNAL"}, {"signalType", "PartnerAway"}, {"senderId", 0}, {"sessionId", 9},
               {"receiverId", 2}, {"data", {{"accountId", 1}}}});
    d.set_kind(chat::proto::Delivery::PARTNER_BACK);
    CHECK(json::parse(push_frame(d))["signalType"] == "PartnerBack");

    d.set_kind(chat::proto::Delivery::VIEWED);
    d.set_msg_id(4);
    CHECK(json::parse(push_frame(d)) ==
          json{{"cmd", "PUSH_VIEWED_ACK"}, {"sessionId", 9}, {"accountId", 1}, {"msgId", 4}});
}
