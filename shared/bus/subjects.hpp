#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chat::bus {

/// Every NATS subject the system uses (docs/architecture.md describes each).
namespace subjects {
inline constexpr std::string_view k_create_account = "chat.cmd.account.create";
inline constexpr std::string_view k_match = "chat.cmd.match";
inline constexpr std::string_view k_dialogue = "chat.cmd.dialogue";
inline constexpr std::string_view k_viewed_ack = "chat.cmd.viewed";
inline constexpr std::string_view k_logout = "chat.cmd.logout";
inline constexpr std::string_view k_reconnect = "chat.cmd.reconnect";
inline constexpr std::string_view k_offline = "chat.cmd.offline";
inline constexpr std::string_view k_ack = "chat.cmd.ack";
inline constexpr std::string_view k_resume = "chat.cmd.resume";
inline constexpr std::string_view k_broker_hello = "chat.cmd.broker.hello";
inline constexpr std::string_view k_cancel_match = "chat.cmd.match.cancel";
inline constexpr std::string_view k_leave = "chat.cmd.leave";
inline constexpr std::string_view k_block = "chat.cmd.block";
inline constexpr std::string_view k_report = "chat.cmd.report";
/// Logic subscribes to every command subject with this wildcard.
inline constexpr std::string_view k_all_commands = "chat.cmd.>";
inline constexpr std::string_view k_broker_heartbeat = "chat.broker.heartbeat";
inline constexpr std::string_view k_dispatch_wake = "chat.dispatch.wake";
/// Logic hands the dispatcher a push it made (a kick, a resync) as a `RoutedPush`: only
/// the dispatcher publishes on broker.<id>.push, so only its NATS user may.
inline constexpr std::string_view k_dispatch_push = "chat.dispatch.push";
/// Every subject the dispatcher serves.
inline constexpr std::string_view k_all_dispatch = "chat.dispatch.>";

/// Queue groups: each message goes to one member.
inline constexpr std::string_view k_logic_queue = "chat-logic";
inline constexpr std::string_view k_dispatcher_queue = "chat-dispatcher";

/// A broker id is one subject token of letters, digits, - and _ (never a wildcard).
inline bool valid_broker_id(std::string_view id) {
    if (id.empty()) return false;
    for (char c : id)
        if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') && c != '-' && c != '_')
            return false;
    return true;
}

/// TYPING goes from the sender's broker straight to the receiver's: each broker
/// subscribes to chat.typing.<account id> of every account bound to it (docs/protocol.md).
inline std::string typing_to(std::int64_t account_id) { return "chat.typing." + std::to_string(account_id); }
/// Every broker may publish and subscribe to these.
inline constexpr std::string_view k_all_typing = "chat.typing.*";

/// Where the dispatcher publishes pushes for the accounts on broker `broker_id`.
inline std::string broker_push(std::string_view broker_id) {
    return "broker." + std::string(broker_id) + ".push";
}

/// The prefix of broker `broker_id`'s reply subjects: its requester adds ".<epoch>.<n>".
inline std::string broker_inbox(std::string_view broker_id) { return "_INBOX.broker." + std::string(broker_id); }
}  // namespace subjects

}  // namespace chat::bus
