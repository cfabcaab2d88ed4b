#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "shared/bus/nats_connection.hpp"

namespace chat::bus {

/// How a request ended.
enum class request_status { replied, timed_out, no_responders, failed };

/// Asynchronous request/reply: one wildcard inbox subscription serves every request, so
/// any number can be in flight without a thread blocking on each.
class requester {
public:
    /// `reply` holds the reply's payload when status is `replied`.
    using callback = std::function<void(request_status status, std::string_view reply)>;

    requester(connection& conn, const std::string& inbox_prefix);
    ~requester();
    requester(const requester&) = delete;
    requester& operator=(const requester&) = delete;

    /// Sends `data` on `subject`; `done` runs exactly once, on a cnats or timer thread.
    void request(const std::string& subject, std::string_view data, std::chrono::milliseconds timeout,
                 callback done);

    /// Requests still waiting for their reply.
    std::size_t in_flight() const;

private:
    using clock = std::chrono::steady_clock;
    struct pending {
        callback done;
        clock::time_point deadline;
    };

    void on_reply(message&& m);
    void expire_loop();
    callback take(std::uint64_t id);

    connection& conn_;
    std::string prefix_;  // "<inbox_prefix>." ; a reply goes to prefix_ + id

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::unordered_map<std::uint64_t, pending> pending_;
    std::multimap<clock::time_point, std::uint64_t> deadlines_;
    std::uint64_t next_id_ = 1;
    bool stopping_ = false;

    std::thread expirer_;
    subscription replies_;  // last: unsubscribed first on destruction
};

}  // namespace chat::bus
