#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shared/proto/chat.pb.h"

namespace chat::metrics {

/// A request's command as docs/protocol.md spells it ("CRT_ACCOUNT", "DIALOGUE", ...), or
/// for what only services send, its name in upper case ("RESUME", "BROKER_HELLO"): one
/// label value per command for the broker's and logic's metrics alike.
std::string_view command_label(const proto::Request& request);

/// Every value command_label() returns, "NONE" last.
const std::vector<std::string>& all_command_labels();

}  // namespace chat::metrics
