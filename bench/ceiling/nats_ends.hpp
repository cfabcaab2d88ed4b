#pragma once

#include <string>
#include <vector>

namespace chat::bench::ceiling {

/// `chat-ceiling nats-end ROLE --nats-url URL --recording FILE --broker-id ID
/// --subject-prefix P --window W`: one end of the NATS probe, in a process of its own like
/// the service it stands for, with that service's connection options (bus::connection,
/// name included). The command and wake-up subjects start with P, and the pushes go to
/// broker.ID.push, so a chat system running on the same nats-server neither answers nor
/// hears the probe:
///   broker      sends the recorded DIALOGUE requests through bus::requester (chat.cmd.dialogue,
///               W in flight), decodes each reply, and decodes the pushes on broker.<id>.push
///   logic       queue-subscribes chat.cmd.> in group chat-logic, decodes each request and
///               publishes the recorded reply, and the recorded wake-up after each batch
///   dispatcher  publishes the recorded pushes drain by drain through publish_pushes
///               (publish, then flush), and decodes the wake-ups
/// Protocol on stdin/stdout: it prints "ready" once connected and subscribed, starts on
/// "go", prints "done {json}" (its CPU from go to done: every thread, RUSAGE_SELF) when
/// its share is complete, and exits on "stop" or end of input. Returns the exit code.
int run_nats_end(const std::vector<std::string>& args);

}  // namespace chat::bench::ceiling
