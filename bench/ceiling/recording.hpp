#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "services/dispatcher/src/drain_plan.hpp"

namespace chat::bench::ceiling {

/// The NATS payloads of one run, as the store and drain probes produced them, so the
/// NATS probe sends exactly these sizes: the brokers' requests, logic's replies and
/// wake-ups, the dispatcher's pushes.
struct recording {
    std::vector<std::string> requests;      // serialized proto::Request, in the order sent
    std::vector<std::string> replies;       // serialized proto::Reply, one per request
    std::vector<std::string> wakes;         // serialized proto::Wake, one per store transaction
    std::vector<std::uint64_t> wake_after;  // wake j follows the reply to request wake_after[j] - 1
    using push = dispatcher::broker_push;
    std::vector<std::vector<push>> drains;  // what each drain published before its flush
    std::uint64_t deliveries = 0;           // deliveries in all pushes

    std::uint64_t messages() const;  // DIALOGUE items in all requests
};

void write_recording(const recording& r, const std::filesystem::path& file);
/// Throws when the file is missing or cut short.
recording read_recording(const std::filesystem::path& file);

}  // namespace chat::bench::ceiling
