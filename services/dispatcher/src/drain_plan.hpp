#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chat::dispatcher {

/// NATS refuses payloads above its max_payload (1 MiB by default): pushes stay below this.
inline constexpr std::size_t k_max_push_bytes = 512 * 1024;

/// One row of the drain statement (sql::k_drain): an inbox entry with what its push needs.
struct inbox_row {
    std::int64_t id = 0;  // inbox.id
    std::int64_t session_id = 0;
    std::int64_t receiver_id = 0;
    int kind = 0;  // inbox_kind as stored
    std::int64_t msg_id = 0;
    std::int64_t peer_id = 0;
    bool online = false;                    // the receiver's
    std::optional<std::string> broker_id;   // the receiver's broker, when connected
    std::optional<std::int64_t> sender_id;  // messages only
    std::string content;                    // messages only
    std::optional<std::string> peer_name;   // NEW_SESSION only
    std::vector<std::string> common_interests;  // NEW_SESSION only
    double age_seconds = 0;                     // since its transaction began, when read
};

/// One serialized proto::Push for the accounts on broker `broker_id`.
struct broker_push {
    std::string broker_id;
    std::string payload;
};

/// What one drain publishes, and the rows it is done with once that is published.
struct drain_plan {
    std::vector<broker_push> pushes;    // in publishing order
    std::vector<std::int64_t> handled;  // every row read: pushed, or dropped on purpose
};

/// Turns a drain's rows (in inbox id order) into pushes grouped by broker, each below
/// `max_push_bytes`, keeping the rows' order within a broker. Rows whose receiver is
/// offline, of an unknown kind, or messages without their message are handled without a
/// push (the message itself stays stored). Pure: no database, no NATS.
drain_plan plan_drain(std::vector<inbox_row> rows, std::size_t max_push_bytes = k_max_push_bytes);

}  // namespace chat::dispatcher
