#pragma once

#include <spdlog/logger.h>

#include <exception>
#include <vector>

#include "services/logic/src/request_checks.hpp"
#include "services/logic/src/side_effects.hpp"
#include "shared/proto/chat.pb.h"

namespace chat::logic {

/// What running a group of requests produced: one reply per request, in their order,
/// and the effects to publish after them.
struct group_outcome {
    std::vector<proto::Reply> replies;
    side_effects effects;
};

/// Runs a group of requests as one transaction: `transaction(requests, effects)` returns
/// one reply per request. If it throws, each request runs alone, so one bad request
/// cannot fail the others it was grouped with; one that fails alone too is answered
/// with internal_error, and the failed group's effects are dropped (it rolled back).
/// `Fatal` (the connection is gone) is not retried: it propagates to the caller.
template <typename Fatal, typename Transaction>
group_outcome run_grouped(const std::vector<const proto::Request*>& requests, Transaction&& transaction,
                          spdlog::logger& log, const char* what) {
    group_outcome out;
    try {
        out.replies = transaction(requests, out.effects);
    } catch (const Fatal&) {
        throw;
    } catch (const std::exception& e) {
        log.error("{} {} requests in one transaction failed: {}", requests.size(), what, e.what());
        out.replies.assign(requests.size(), error_reply(wire::code::internal_error, "internal error, retry"));
        out.effects = side_effects();
        for (std::size_t i = 0; requests.size() > 1 && i < requests.size(); ++i) {
            try {
                const std::vector<const proto::Request*> alone_request{requests[i]};
                out.replies[i] = transaction(alone_request, out.effects).front();
            } catch (const Fatal&) {
                throw;
            } catch (const std::exception& alone) {
                log.error("{} request from {} failed alone: {}", what, requests[i]->origin().conn_key(), alone.what());
            }
        }
    }
    return out;
}

/// Runs one command: `command(request, effects)` returns its reply. If it throws, the
/// reply is internal_error; `Fatal` propagates.
template <typename Fatal, typename Command>
proto::Reply run_alone(const proto::Request& request, Command&& command, side_effects& effects,
                       spdlog::logger& log) {
    try {
        return command(request, effects);
    } catch (const Fatal&) {
        throw;
    } catch (const std::exception& e) {
        log.error("command {} failed: {}", static_cast<int>(request.body_case()), e.what());
        return error_reply(wire::code::internal_error, "internal error, retry");
    }
}

}  // namespace chat::logic
