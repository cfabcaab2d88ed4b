#include "shared/wire/client_frames.hpp"

#include <fmt/format.h>

#include <limits>

#include "shared/wire/limits.hpp"
#include "shared/wire/validate.hpp"

namespace chat::wire {
namespace {

using json = nlohmann::json;

// Thrown inside the parser only; parse_client_frame turns it into a frame_error.
struct field_problem {
    code error_code;
    std::string msg;
};

[[noreturn]] void refuse(std::string msg, code c = code::param_error) {
    throw field_problem{c, std::move(msg)};
}

const json& require(const json& frame, const char* field) {
    const auto it = frame.find(field);
    if (it == frame.end()) refuse(fmt::format("missing field '{}'", field));
    return *it;
}

std::int64_t require_id(const json& frame, const char* field) {
    const auto& v = require(frame, field);
    if (v.is_number_unsigned()) {
        if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            refuse(fmt::format("'{}' is out of range", field));
    } else if (!v.is_number_integer()) {
        refuse(fmt::format("'{}' must be an integer", field));
    }
    const auto id = v.get<std::int64_t>();
    if (auto problem = check_id(field, id)) refuse(*problem);
    return id;
}

std::string require_string(const json& frame, const char* field) {
    const auto& v = require(frame, field);
    if (!v.is_string()) refuse(fmt::format("'{}' must be a string", field));
    return v.get<std::string>();
}

bool require_bool(const json& frame, const char* field) {
    const auto& v = require(frame, field);
    if (!v.is_boolean()) refuse(fmt::format("'{}' must be true or false", field));
    return v.get<bool>();
}

template <typename Check>
void check(Check&& result) {
    if (result) refuse(*result);
}

dialogue_request parse_dialogue(const json& frame, json& request_id_echo) {
    dialogue_request r;
    const auto& rid = require(frame, "requestId");
    if (rid.is_string()) {
        r.request_id = rid.get<std::string>();
        check(check_request_id(r.request_id));
    } else if (rid.is_number_unsigned() || (rid.is_number_integer() && rid.get<std::int64_t>() >= 0)) {
        r.request_id = rid.dump();
    } else {
        refuse("'requestId' must be a string or a non-negative integer");
    }
    r.request_id_echo = rid;
    request_id_echo = rid;  // from here on, errors echo it
    r.sender_id = require_id(frame, "senderId");
    r.session_id = require_id(frame, "sessionId");
    r.content = require_string(frame, "content");
    check(check_content(r.content));
    return r;
}

// `interests` is optional; given, it is a list of at most k_max_interests tags.
match_request parse_match(const json& frame) {
    match_request r{require_id(frame, "accountId"), {}};
    const auto it = frame.find("interests");
    if (it == frame.end() || it->is_null()) return r;
    if (!it->is_array()) refuse("'interests' must be a list of strings");
    if (it->size() > k_max_interests) refuse(fmt::format("at most {} interests", k_max_interests));
    for (const auto& tag : *it) {
        if (!tag.is_string()) refuse("'interests' must be a list of strings");
        const auto& text = tag.get_ref<const std::string&>();
        check(check_interest(text));
        r.interests.push_back(normalize_interest(text));
    }
    return r;
}

report_request parse_report(const json& frame) {
    report_request r{require_id(frame, "sessionId"), require_string(frame, "reason"), {}};
    if (!is_report_reason(r.reason))
        refuse("'reason' must be one of spam, harassment, sexual, hate, underage, other");
    const auto it = frame.find("text");
    if (it != frame.end() && !it->is_null()) {
        if (!it->is_string()) refuse("'text' must be a string");
        r.text = it->get<std::string>();
        check(check_report_text(r.text));
    }
    return r;
}

client_request parse_known(const std::string& cmd, const json& frame, json& request_id_echo) {
    if (cmd == "CRT_ACCOUNT") {
        auto nickname = require_string(frame, "nickName");
        check(check_nickname(nickname));
        return create_account_request{normalize_nickname(nickname)};
    }
    if (cmd == "MATCH") return parse_match(frame);
    if (cmd == "CANCEL_MATCH") return cancel_match_request{require_id(frame, "accountId")};
    if (cmd == "LEAVE") return leave_request{require_id(frame, "sessionId")};
    if (cmd == "BLOCK") return block_request{require_id(frame, "sessionId")};
    if (cmd == "REPORT") return parse_report(frame);
    if (cmd == "TYPING") return typing_request{require_id(frame, "sessionId"), require_bool(frame, "typing")};
    if (cmd == "DIALOGUE") return parse_dialogue(frame, request_id_echo);
    if (cmd == "VIEWED_ACK")
        return viewed_ack_request{require_id(frame, "sessionId"), require_id(frame, "accountId"),
                                  require_id(frame, "msgId")};
    if (cmd == "LOGOUT") return logout_request{require_id(frame, "accountId")};
    if (cmd == "RECONNECT") {
        const auto account_id = require_id(frame, "accountId");
        auto token = require_string(frame, "token");
        check(check_token(token));
        return reconnect_request{account_id, std::move(token)};
    }
    if (cmd == "ACK") return ack_request{require_id(frame, "sessionId"), require_id(frame, "msgId")};
    if (cmd == "PING") return ping_request{};
    if (cmd == "PONG") return pong_request{};
    refuse(fmt::format("unknown cmd '{}'", cmd), code::unknown_cmd);
}

}  // namespace

parse_result parse_client_frame(std::string_view text) {
    json frame = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (frame.is_discarded()) return frame_error{"ERROR", code::param_error, "frame is not valid JSON", {}};
    if (!frame.is_object()) return frame_error{"ERROR", code::param_error, "frame must be a JSON object", {}};
    const auto cmd_it = frame.find("cmd");
    if (cmd_it == frame.end() || !cmd_it->is_string())
        return frame_error{"ERROR", code::param_error, "frame has no string field 'cmd'", {}};
    const auto cmd = cmd_it->get<std::string>();
    json request_id_echo;
    try {
        return parse_known(cmd, frame, request_id_echo);
    } catch (const field_problem& p) {
        // An unknown cmd may be arbitrary text; echo it only when it is safe UTF-8 of sane size.
        const bool echo_cmd = cmd.size() <= 64 && is_valid_utf8(cmd);
        return frame_error{echo_cmd ? cmd : "ERROR", p.error_code, p.msg, request_id_echo};
    }
}

std::string_view command_name(const client_request& request) {
    struct visitor {
        std::string_view operator()(const create_account_request&) const { return "CRT_ACCOUNT"; }
        std::string_view operator()(const match_request&) const { return "MATCH"; }
        std::string_view operator()(const dialogue_request&) const { return "DIALOGUE"; }
        std::string_view operator()(const viewed_ack_request&) const { return "VIEWED_ACK"; }
        std::string_view operator()(const logout_request&) const { return "LOGOUT"; }
        std::string_view operator()(const reconnect_request&) const { return "RECONNECT"; }
        std::string_view operator()(const ack_request&) const { return "ACK"; }
        std::string_view operator()(const ping_request&) const { return "PING"; }
        std::string_view operator()(const pong_request&) const { return "PONG"; }
        std::string_view operator()(const cancel_match_request&) const { return "CANCEL_MATCH"; }
        std::string_view operator()(const leave_request&) const { return "LEAVE"; }
        std::string_view operator()(const block_request&) const { return "BLOCK"; }
        std::string_view operator()(const report_request&) const { return "REPORT"; }
        std::string_view operator()(const typing_request&) const { return "TYPING"; }
    };
    return std::visit(visitor{}, request);
}

}  // namespace chat::wire
