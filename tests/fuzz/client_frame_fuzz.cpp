// libFuzzer target: any bytes as one client text frame through parse_client_frame, then
// the broker's answer to it through the encoders of shared/wire/server_frames.
//
// Besides "no crash, no uncaught exception, no leak, no undefined behaviour", each input
// must keep what docs/protocol.md promises: a refusal has a non-zero code and a msg; an
// accepted request satisfies the field rules (ids > 0, limits, UTF-8) and names the cmd
// the frame carried; every encoded answer is a JSON object that decodes back to the
// values that went in (content byte for byte, requestId as sent).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "tests/fuzz/expect.hpp"
#include "shared/wire/client_frames.hpp"
#include "shared/wire/limits.hpp"
#include "shared/wire/server_frames.hpp"
#include "shared/wire/validate.hpp"

namespace {

using json = nlohmann::json;
namespace wire = chat::wire;
namespace proto = chat::proto;
using chat::fuzz::expect;

json decode_answer(const std::string& frame) {
    auto answer = json::parse(frame, nullptr, /*allow_exceptions=*/false);
    expect(answer.is_object(), "an encoded answer is not a JSON object");
    return answer;
}

void check_refusal(const wire::frame_error& e) {
    expect(e.error_code != wire::code::ok, "a refusal carries code 0");
    expect(!e.msg.empty(), "a refusal has an empty msg");
    expect(e.cmd.size() <= 64 && wire::is_valid_utf8(e.cmd), "a refusal echoes an unsafe cmd");
    expect(e.request_id_echo.is_null() || e.request_id_echo.is_string() ||
               e.request_id_echo.is_number_integer(),
           "a refusal echoes a requestId that is neither a string nor an integer");

    const auto answer =
        decode_answer(wire::error_frame(e.cmd, e.error_code, e.msg, e.request_id_echo));
    expect(answer.value("cmd", json()) == e.cmd, "the error frame lost its cmd");
    expect(answer.value("code", json()) == wire::to_int(e.error_code),
           "the error frame lost its code");
    expect(answer.value("msg", json()) == e.msg, "the error frame lost its msg");
    if (!e.request_id_echo.is_null())
        expect(answer.value("requestId", json()) == e.request_id_echo,
               "the error frame lost its requestId");
}

struct accepted_checks {
    void operator()(const wire::create_account_request& r) const {
        expect(!wire::check_nickname(r.nickname), "an accepted nickName breaks the rules");
        expect(r.nickname == wire::normalize_nickname(r.nickname),
               "an accepted nickName is not trimmed");
        proto::CreateAccountReply reply;
        reply.set_account_id(17);
        reply.set_nickname(r.nickname);
        reply.set_token(std::string(wire::k_token_hex_chars, 'a'));
        const auto answer = decode_answer(wire::create_account_frame(reply));
        expect(answer.value("nickName", json()) == r.nickname,
               "CRT_ACCOUNT answer changed the nickName");
    }
    void operator()(const wire::match_request& r) const {
        expect(r.account_id > 0, "MATCH accepted with accountId <= 0");
        proto::MatchReply reply;
        reply.set_partner_id(r.account_id);
        reply.set_session_id(1);
        decode_answer(wire::match_frame(reply));
    }
    void operator()(const wire::dialogue_request& r) const {
        expect(r.sender_id > 0 && r.session_id > 0, "DIALOGUE accepted with an id <= 0");
        expect(!wire::check_content(r.content), "accepted content breaks the rules");
        expect(!r.request_id.empty() && r.request_id.size() <= 64,
               "accepted requestId of a bad size");
        if (r.request_id_echo.is_string()) {
            expect(r.request_id_echo.get<std::string>() == r.request_id,
                   "string requestId echo differs");
            expect(!wire::check_request_id(r.request_id), "accepted requestId breaks the rules");
        } else {
            expect(r.request_id_echo.is_number_integer(),
                   "requestId echo neither string nor integer");
            expect(r.request_id_echo.dump() == r.request_id,
                   "integer requestId key differs from its echo");
        }

        proto::DialogueResult ok;
        ok.set_msg_id(1);
        auto answer = decode_answer(wire::dialogue_frame(r.request_id_echo, r.session_id, ok));
        expect(answer.value("requestId", json()) == r.request_id_echo,
               "DIALOGUE answer changed the requestId");
        expect(answer.value("sessionId", json()) == r.session_id,
               "DIALOGUE answer changed the sessionId");
        proto::DialogueResult refused;
        refused.set_code(wire::to_int(wire::code::session_closed));
        refused.set_msg("session closed");
        answer = decode_answer(wire::dialogue_frame(r.request_id_echo, r.session_id, refused));
        expect(answer.value("requestId", json()) == r.request_id_echo,
               "DIALOGUE error changed the requestId");

        proto::Delivery push;
        push.set_kind(proto::Delivery::MESSAGE);
        push.set_msg_id(1);
        push.set_sender_id(r.sender_id);
        push.set_session_id(r.session_id);
        push.set_content(r.content);
        answer = decode_answer(wire::push_frame(push));
        expect(answer.value("content", json()) == r.content, "PUSH_DIALOGUE changed the content");
    }
    void operator()(const wire::viewed_ack_request& r) const {
        expect(r.session_id > 0 && r.account_id > 0 && r.msg_id > 0,
               "VIEWED_ACK accepted with an id <= 0");
        decode_answer(wire::viewed_ack_frame(r.session_id, r.msg_id));
    }
    void operator()(const wire::logout_request& r) const {
        expect(r.account_id > 0, "LOGOUT accepted with accountId <= 0");
        decode_answer(wire::logout_frame());
    }
    void operator()(const wire::reconnect_request& r) const {
        expect(r.account_id > 0, "RECONNECT accepted with accountId <= 0");
        expect(!wire::check_token(r.token), "RECONNECT accepted with a malformed token");
    }
    void operator()(const wire::ack_request& r) const {
        expect(r.session_id > 0 && r.msg_id > 0, "ACK accepted with an id <= 0");
        const auto answer = decode_answer(
            wire::ack_error_frame(r.session_id, r.msg_id, wire::code::no_data, "beyond"));
        expect(answer.value("cmd", json()) == "ACK" && answer.value("msgId", json()) == r.msg_id,
               "ACK error frame lost its cmd or msgId");
    }
    void operator()(const wire::ping_request&) const { decode_answer(wire::pong_frame(0)); }
    void operator()(const wire::pong_request&) const {}
    // Requests newer than this target: the parse above not crashing is all it checks.
    template <typename Newer>
    void operator()(const Newer&) const {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = wire::parse_client_frame(text);  // promised never to throw
    if (const auto* refusal = std::get_if<wire::frame_error>(&parsed)) {
        check_refusal(*refusal);
        return 0;
    }
    const auto& request = std::get<wire::client_request>(parsed);
    // Only a JSON object whose string cmd names the command may be accepted.
    const auto frame = json::parse(text, nullptr, /*allow_exceptions=*/false);
    expect(frame.is_object(), "accepted a frame that is not a JSON object");
    expect(frame.value("cmd", json()) == wire::command_name(request), "accepted under another cmd");
    std::visit(accepted_checks{}, request);
    return 0;
}
