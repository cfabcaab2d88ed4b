#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "shared/proto/chat.pb.h"
#include "shared/wire/codes.hpp"

namespace chat::wire {

/// Frames the broker sends, each as one serialized JSON object (docs/protocol.md).

std::string error_frame(std::string_view cmd, code c, std::string_view msg,
                        const nlohmann::json& request_id_echo = nullptr);

std::string create_account_frame(const proto::CreateAccountReply& reply);
std::string match_frame(const proto::MatchReply& reply);
/// A refused MATCH; code 14 (banned) also says until when, from `reply.banned_until`.
std::string match_error_frame(code c, std::string_view msg, const proto::MatchReply& reply);
std::string cancel_match_frame();
/// The success of LEAVE, BLOCK or REPORT: `{cmd, sessionId, code:0}`.
std::string session_done_frame(std::string_view cmd, std::int64_t session_id);
/// A refused LEAVE, BLOCK, REPORT or TYPING: carries the sessionId it was about.
std::string session_error_frame(std::string_view cmd, std::int64_t session_id, code c, std::string_view msg);
/// PUSH_TYPING: the partner (`accountId`) started or stopped typing in `sessionId`.
std::string push_typing_frame(const proto::Typing& typing);
std::string dialogue_frame(const nlohmann::json& request_id_echo, std::int64_t session_id,
                           const proto::DialogueResult& result);
std::string viewed_ack_frame(std::int64_t session_id, std::int64_t msg_id);
std::string logout_frame();
std::string reconnect_frame(const proto::ReconnectReply& reply);
std::string ping_frame(std::int64_t account_id);
std::string pong_frame(std::int64_t account_id);
/// A refused ACK (valid ACKs are not answered).
std::string ack_error_frame(std::int64_t session_id, std::int64_t msg_id, code c, std::string_view msg);

/// A PUSH_DIALOGUE, PUSH_SIGNAL or PUSH_VIEWED_ACK frame for one delivery.
std::string push_frame(const proto::Delivery& delivery);

}  // namespace chat::wire
