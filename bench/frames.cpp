#include "bench/frames.hpp"

#include <charconv>

namespace chat::bench {
namespace {

// {"cmd":"<cmd>","accountId":<account>}
std::string account_frame(std::string_view cmd, std::int64_t account) {
    std::string frame = R"({"cmd":")";
    frame += cmd;
    frame += R"(","accountId":)";
    append_number(frame, account);
    frame += '}';
    return frame;
}

}  // namespace

void append_number(std::string& out, std::int64_t value) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    (void)ec;
    out.append(digits, end);
}

std::string dialogue_content(std::int64_t sent_ns, std::int64_t client, std::uint64_t seq,
                             std::size_t payload) {
    std::string content = "t=";
    append_number(content, sent_ns);
    content += ";c=";
    append_number(content, client);
    content += ";s=";
    append_number(content, static_cast<std::int64_t>(seq));
    content += ';';
    if (content.size() < payload) content.append(payload - content.size(), 'x');
    return content;
}

std::int64_t timestamp_of(std::string_view content) {
    if (content.size() < 3 || content.substr(0, 2) != "t=") return 0;
    std::int64_t t = 0;
    auto [end, ec] = std::from_chars(content.data() + 2, content.data() + content.size(), t);
    (void)end;
    return ec == std::errc{} ? t : 0;
}

std::string dialogue_frame(std::uint64_t request_id, std::int64_t sender, std::int64_t session,
                           std::string_view content) {
    std::string frame;
    frame.reserve(content.size() + 120);
    frame += R"({"cmd":"DIALOGUE","requestId":)";
    append_number(frame, static_cast<std::int64_t>(request_id));
    frame += R"(,"senderId":)";
    append_number(frame, sender);
    frame += R"(,"sessionId":)";
    append_number(frame, session);
    frame += R"(,"content":")";
    frame += content;
    frame += "\"}";
    return frame;
}

std::string login_frame(std::string_view nick, std::size_t index) {
    std::string frame = R"({"cmd":"CRT_ACCOUNT","nickName":")";
    frame += nick;
    append_number(frame, static_cast<std::int64_t>(index));
    frame += "\"}";
    return frame;
}

std::string pong_frame(std::int64_t account) { return account_frame("PONG", account); }

std::string ack_frame(std::int64_t session, std::int64_t msg_id) {
    std::string frame = R"({"cmd":"ACK","sessionId":)";
    append_number(frame, session);
    frame += R"(,"msgId":)";
    append_number(frame, msg_id);
    frame += '}';
    return frame;
}

std::string match_frame(std::int64_t account) { return account_frame("MATCH", account); }

std::string match_frame(std::int64_t account, const std::vector<std::string>& interests) {
    if (interests.empty()) return match_frame(account);
    std::string frame = R"({"cmd":"MATCH","accountId":)";
    append_number(frame, account);
    frame += R"(,"interests":[)";
    for (std::size_t i = 0; i < interests.size(); ++i) {
        if (i > 0) frame += ',';
        frame += '"';
        frame += interests[i];
        frame += '"';
    }
    frame += "]}";
    return frame;
}

std::string leave_frame(std::int64_t session) {
    std::string frame = R"({"cmd":"LEAVE","sessionId":)";
    append_number(frame, session);
    frame += '}';
    return frame;
}

}  // namespace chat::bench
