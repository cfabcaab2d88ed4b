#pragma once

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
/// Logic subscribes to every command subject with this wildcard.
inline constexpr std::string_view k_all_commands = "chat.cmd.>";
inline constexpr std::string_view k_broker_heartbeat = "chat.broker.heartbeat";
inline constexpr std::string_view k_dispatch_wake = "chat.dispatch.wake";

/// Queue groups: each message goes to one member.
inline constexpr std::string_view k_logic_queue = "chat-logic";

/// Where the dispatcher publishes pushes for the accounts on broker `broker_id`.
inline std::string broker_push(std::string_view broker_id) {
    return "broker." + std::string(broker_id) + ".push";
}
}  // namespace subjects

}  // namespace chat::bus
