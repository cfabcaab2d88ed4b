#pragma once

#include <optional>
#include <string>

#include "shared/proto/chat.pb.h"
#include "shared/wire/codes.hpp"

namespace chat::logic {

/// A reply carrying only a code and message.
proto::Reply error_reply(wire::code code, const std::string& msg);

/// Logic's own check of a command before any database work (the bus is not trusted to
/// carry only what a broker checked): the refusal to send back, or nothing when the
/// command may go on. Pure, so it is unit-tested and fuzzed on its own. For DIALOGUE
/// batches it checks the request as a whole; each item goes through
/// refuse_dialogue_item.
std::optional<proto::Reply> refuse_request(const proto::Request& request);

/// The refusal of one DIALOGUE of a batch, or nothing when it may be stored.
std::optional<proto::DialogueResult> refuse_dialogue_item(const proto::Request& request,
                                                          const proto::Dialogue& item);

}  // namespace chat::logic
