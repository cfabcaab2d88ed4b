#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "services/logic/src/request_checks.hpp"
#include "services/logic/src/side_effects.hpp"
#include "services/logic/src/store.hpp"
#include "shared/proto/chat.pb.h"

namespace chat::logic {

/// Runs a command against the store once refuse_request (request_checks.hpp) let it
/// through.
class command_handler {
public:
    explicit command_handler(store& db) : db_(db) {}

    /// Every command except DIALOGUE batches.
    proto::Reply handle(const proto::Request& request, side_effects& effects);

    /// Several connections' DIALOGUE batches stored by one transaction (group commit);
    /// one reply per request, in the same order.
    std::vector<proto::Reply> handle_dialogues(const std::vector<const proto::Request*>& requests,
                                               side_effects& effects);

    /// Several MATCH requests in one transaction (group commit); one reply per request,
    /// in the same order.
    std::vector<proto::Reply> handle_matches(const std::vector<const proto::Request*>& requests,
                                             side_effects& effects);

    /// Several connections' ACK frames in one transaction; one reply per request.
    std::vector<proto::Reply> handle_acks(const std::vector<const proto::Request*>& requests, side_effects& effects);

private:
    proto::Reply create_account(const proto::Request& r, side_effects& effects);
    static match_request match_request_of(const proto::Request& r);
    proto::Reply match(const proto::Request& r, side_effects& effects);
    proto::Reply cancel_match(const proto::Request& r);
    proto::Reply leave(const proto::Request& r, side_effects& effects);
    /// BLOCK, or REPORT when `report` is set.
    proto::Reply block(const proto::Request& r, std::int64_t session_id, const std::optional<report_details>& report,
                       side_effects& effects);
    /// The connection a request came from.
    static connection_ref where(const proto::Request& r);
    static proto::Reply match_reply(const match_outcome& outcome);
    proto::Reply viewed_ack(const proto::Request& r, side_effects& effects);
    proto::Reply logout(const proto::Request& r, side_effects& effects);
    proto::Reply reconnect(const proto::Request& r, side_effects& effects);
    proto::Reply offline(const proto::Request& r, side_effects& effects);
    proto::Reply broker_hello(const proto::Request& r, side_effects& effects);
    proto::Reply ack(const proto::Request& r);
    static proto::Reply ack_reply(const std::vector<ack_rejection>& rejected);
    proto::Reply resume(const proto::Request& r, side_effects& effects);
    static void set_resume(proto::ResumeReply& out, const resume_page& page);

    store& db_;
};

}  // namespace chat::logic
