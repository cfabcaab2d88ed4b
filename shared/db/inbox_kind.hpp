#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "shared/proto/chat.pb.h"

namespace chat::db {

/// What an inbox row delivers. The numbers are chat.proto's Delivery.Kind; SQL names the
/// same kinds with inbox_kind('name') (migrations/0004_inbox_kinds.sql), whose CHECK
/// constraint refuses any other number. A pgtest checks the two lists agree.
enum class inbox_kind : short {
    message = proto::Delivery::MESSAGE,
    new_session = proto::Delivery::NEW_SESSION,
    partner_exit = proto::Delivery::PARTNER_EXIT,
    viewed = proto::Delivery::VIEWED,
    partner_away = proto::Delivery::PARTNER_AWAY,
    partner_back = proto::Delivery::PARTNER_BACK,
};

/// Every kind with its SQL name.
inline constexpr std::array<std::pair<inbox_kind, std::string_view>, 6> k_inbox_kinds{{
    {inbox_kind::message, "message"},
    {inbox_kind::new_session, "new_session"},
    {inbox_kind::partner_exit, "partner_exit"},
    {inbox_kind::viewed, "viewed"},
    {inbox_kind::partner_away, "partner_away"},
    {inbox_kind::partner_back, "partner_back"},
}};

/// The kind stored in an inbox row, or nothing for a number no kind has.
constexpr std::optional<inbox_kind> inbox_kind_of(int stored) {
    for (const auto& [kind, name] : k_inbox_kinds)
        if (static_cast<int>(kind) == stored) return kind;
    return std::nullopt;
}

constexpr proto::Delivery::Kind delivery_kind(inbox_kind kind) { return static_cast<proto::Delivery::Kind>(kind); }

/// The value to bind for a statement parameter that takes a kind.
constexpr short sql_value(inbox_kind kind) { return static_cast<short>(kind); }

}  // namespace chat::db
