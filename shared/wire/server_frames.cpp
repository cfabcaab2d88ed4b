#include "shared/wire/server_frames.hpp"

namespace chat::wire {
namespace {

using json = nlohmann::json;

// Client content is validated UTF-8 before it is stored, but a push must never throw on
// the I/O path, so replace anything malformed instead.
std::string dump(const json& frame) { return frame.dump(-1, ' ', false, json::error_handler_t::replace); }

json string_list(const google::protobuf::RepeatedPtrField<std::string>& items) {
    json out = json::array();
    for (const auto& item : items) out.push_back(item);
    return out;
}

}  // namespace

std::string error_frame(std::string_view cmd, code c, std::string_view msg,
                        const json& request_id_echo) {
    json frame = {{"cmd", cmd}, {"code", to_int(c)}, {"msg", msg}};
    if (!request_id_echo.is_null()) frame["requestId"] = request_id_echo;
    return dump(frame);
}

std::string create_account_frame(const proto::CreateAccountReply& reply) {
    return dump({{"cmd", "CRT_ACCOUNT"},
                 {"nickName", reply.nickname()},
                 {"accountId", reply.account_id()},
                 {"token", reply.token()},
                 {"code", 0}});
}

std::string match_frame(const proto::MatchReply& reply) {
    return dump({{"cmd", "MATCH"},
                 {"partnerId", reply.partner_id()},
                 {"partnerName", reply.partner_name()},
                 {"sessionId", reply.session_id()},
                 {"commonInterests", string_list(reply.common_interests())},
                 {"code", 0}});
}

std::string match_error_frame(code c, std::string_view msg, const proto::MatchReply& reply) {
    json frame = {{"cmd", "MATCH"}, {"code", to_int(c)}, {"msg", msg}};
    if (c == code::banned && !reply.banned_until().empty()) frame["until"] = reply.banned_until();
    return dump(frame);
}

std::string cancel_match_frame() { return dump({{"cmd", "CANCEL_MATCH"}, {"code", 0}}); }

std::string session_done_frame(std::string_view cmd, std::int64_t session_id) {
    return dump({{"cmd", cmd}, {"sessionId", session_id}, {"code", 0}});
}

std::string session_error_frame(std::string_view cmd, std::int64_t session_id, code c, std::string_view msg) {
    return dump({{"cmd", cmd}, {"sessionId", session_id}, {"code", to_int(c)}, {"msg", msg}});
}

std::string push_typing_frame(const proto::Typing& typing) {
    return dump({{"cmd", "PUSH_TYPING"},
                 {"sessionId", typing.session_id()},
                 {"accountId", typing.sender_id()},
                 {"typing", typing.typing()}});
}

std::string dialogue_frame(const json& request_id_echo, std::int64_t session_id,
                           const proto::DialogueResult& result) {
    json frame = {{"cmd", "DIALOGUE"}, {"requestId", request_id_echo}, {"sessionId", session_id},
                  {"code", result.code()}};
    if (result.code() == 0)
        frame["msgId"] = result.msg_id();
    else
        frame["msg"] = result.msg();
    return dump(frame);
}

std::string viewed_ack_frame(std::int64_t session_id, std::int64_t msg_id) {
    return dump({{"cmd", "VIEWED_ACK"}, {"sessionId", session_id}, {"msgId", msg_id}, {"code", 0}});
}

std::string logout_frame() { return dump({{"cmd", "LOGOUT"}, {"code", 0}}); }

std::string reconnect_frame(const proto::ReconnectReply& reply) {
    json sessions = json::array();
    for (const auto& s : reply.sessions())
        sessions.push_back({{"sessionId", s.session_id()},
                            {"partnerId", s.partner_id()},
                            {"partnerName", s.partner_name()},
                            {"commonInterests", string_list(s.common_interests())}});
    return dump({{"cmd", "RECONNECT"},
                 {"accountId", reply.account_id()},
                 {"nickName", reply.nickname()},
                 {"sessions", std::move(sessions)},
                 {"waiting", reply.waiting()},
                 {"code", 0}});
}

std::string ping_frame(std::int64_t account_id) { return dump({{"cmd", "PING"}, {"accountId", account_id}}); }

std::string pong_frame(std::int64_t account_id) { return dump({{"cmd", "PONG"}, {"accountId", account_id}}); }

std::string ack_error_frame(std::int64_t session_id, std::int64_t msg_id, code c, std::string_view msg) {
    return dump({{"cmd", "ACK"}, {"sessionId", session_id}, {"msgId", msg_id}, {"code", to_int(c)}, {"msg", msg}});
}

namespace {

// PartnerExit, PartnerAway and PartnerBack share one shape.
std::string partner_signal(const proto::Delivery& d, std::string_view type) {
    return dump({{"cmd", "PUSH_SIGNAL"},
                 {"signalType", type},
                 {"senderId", 0},
                 {"sessionId", d.session_id()},
                 {"receiverId", d.receiver_id()},
                 {"data", {{"accountId", d.peer_id()}}}});
}

}  // namespace

std::string push_frame(const proto::Delivery& d) {
    switch (d.kind()) {
        case proto::Delivery::MESSAGE:
            return dump({{"cmd", "PUSH_DIALOGUE"},
                         {"msgId", d.msg_id()},
                         {"senderId", d.sender_id()},
                         {"sessionId", d.session_id()},
                         {"content", d.content()}});
        case proto::Delivery::NEW_SESSION:
            return dump({{"cmd", "PUSH_SIGNAL"},
                         {"signalType", "NewSession"},
                         {"senderId", d.sender_id()},
                         {"sessionId", d.session_id()},
                         {"receiverId", d.receiver_id()},
                         {"data",
                          {{"accountId", d.peer_id()},
                           {"nickName", d.peer_name()},
                           {"commonInterests", string_list(d.common_interests())}}}});
        case proto::Delivery::PARTNER_EXIT: return partner_signal(d, "PartnerExit");
        case proto::Delivery::PARTNER_AWAY: return partner_signal(d, "PartnerAway");
        case proto::Delivery::PARTNER_BACK: return partner_signal(d, "PartnerBack");
        case proto::Delivery::VIEWED:
            return dump({{"cmd", "PUSH_VIEWED_ACK"},
                         {"sessionId", d.session_id()},
                         {"accountId", d.peer_id()},
                         {"msgId", d.msg_id()}});
        default:
            return {};
    }
}

}  // namespace chat::wire
