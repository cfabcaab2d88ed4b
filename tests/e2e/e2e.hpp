#pragma once

// What the e2e suites share: predicates for pushes, waits that fail the test with the
// connection state and the services' logs, and the usual two-person setup.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/service_stack.hpp"
#include "tests/support/ws_client.hpp"

namespace chat::test::e2e {

using namespace std::chrono_literals;

/// How long a push may take end to end (logic → PostgreSQL → dispatcher → broker).
/// Generous: two test processes share two cores with their PostgreSQL.
inline constexpr std::chrono::milliseconds k_push_timeout = 10s;
/// How long "nothing more arrives" is watched for.
inline constexpr std::chrono::milliseconds k_quiet = 800ms;

/// The response's numeric code, or -1 when it has none (which no check accepts).
int code_of(const json& response);

frame_predicate push_dialogue(std::int64_t session_id);
frame_predicate push_dialogue(std::int64_t session_id, std::int64_t msg_id);
frame_predicate signal(const std::string& type, std::int64_t session_id);
frame_predicate viewed_push(std::int64_t session_id);
/// Any PUSH_* frame.
frame_predicate any_push();

/// Waits for a frame matching `predicate`; fails the test (with the connection state
/// and service logs) when none arrives.
json expect_push(ws_client& client, const frame_predicate& predicate, const std::string& what,
                 std::chrono::milliseconds timeout = k_push_timeout);
/// Fails the test if a frame matching `predicate` arrives within `quiet`.
void expect_no_push(ws_client& client, const frame_predicate& predicate, const std::string& what,
                    std::chrono::milliseconds quiet = k_quiet);

/// Checks an error response: the expected cmd and code, and a non-empty msg.
void check_error(const json& response, const std::string& cmd, int code);

/// The same connection still answers PING with PONG.
void check_connection_works(ws_client& client);
/// Every service process still runs.
void check_services_alive(service_stack& stack);

/// Two brokers, two logic processes and two dispatchers, with small pools (two of each
/// on two cores).
stack_options two_of_everything();

/// Two accounts and the session between them: a MATCHes and must get b, so nobody
/// else may be online. b has received (and consumed) its NewSession push.
struct matched_pair {
    std::unique_ptr<ws_client> a;
    std::unique_ptr<ws_client> b;
    account alice;
    account bob;
    std::int64_t session = 0;
};
matched_pair make_pair(service_stack& stack, std::size_t broker_a = 0, std::size_t broker_b = 0,
                       const std::string& nick_a = "alice", const std::string& nick_b = "bob");

/// a MATCHes and must be paired with b (the only one available to it); b's NewSession
/// push is consumed. Returns the session id.
std::int64_t match_expecting(ws_client& a, ws_client& b);

/// Sends `count` DIALOGUEs into the session without waiting for responses, with
/// requestIds "<prefix><i>" and contents burst_content(prefix, i).
void send_dialogues(ws_client& client, std::int64_t session_id, int count,
                    const std::string& prefix);
/// Collects the responses to send_dialogues; returns the msgIds in send order. Every
/// response must have code 0.
std::vector<std::int64_t> collect_responses(ws_client& client, int count,
                                            const std::string& prefix);
/// send_dialogues, then collect_responses.
std::vector<std::int64_t> send_burst(ws_client& client, std::int64_t session_id, int count,
                                     const std::string& prefix);
std::string burst_content(const std::string& prefix, int i);

/// Collects `count` PUSH_DIALOGUEs of the session in arrival order (fails if fewer come).
std::vector<json> collect_dialogue(ws_client& client, std::int64_t session_id, std::size_t count,
                                   std::chrono::milliseconds timeout = 30s);

}  // namespace chat::test::e2e
