#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/frame_fields.hpp"  // int_field, code_of: reading the broker's frames

namespace chat::bench {

using test::code_of;
using test::int_field;

/// The frames a benchmark client sends (docs/protocol.md), written by hand: they are on
/// the load generator's hot path, and one text for chat-bench and chat-ceiling's clients
/// keeps their sizes equal.

/// Appends `value` in decimal.
void append_number(std::string& out, std::int64_t value);

/// A DIALOGUE's content: "t=<sent ns>;c=<client>;s=<seq>;" padded with 'x' to `payload`
/// bytes. The partner reads `t` back (timestamp_of), so delivery latency is measured on
/// the sender's clock.
std::string dialogue_content(std::int64_t sent_ns, std::int64_t client, std::uint64_t seq,
                             std::size_t payload);
/// The send time in such a content; 0 when it has none.
std::int64_t timestamp_of(std::string_view content);

std::string dialogue_frame(std::uint64_t request_id, std::int64_t sender, std::int64_t session,
                           std::string_view content);
std::string login_frame(std::string_view nick, std::size_t index);  // CRT_ACCOUNT, nick+index
std::string pong_frame(std::int64_t account);
std::string ack_frame(std::int64_t session, std::int64_t msg_id);
std::string match_frame(std::int64_t account);
/// MATCH with interests (tags without characters JSON would escape, such as "t17").
std::string match_frame(std::int64_t account, const std::vector<std::string>& interests);
std::string leave_frame(std::int64_t session);

}  // namespace chat::bench
