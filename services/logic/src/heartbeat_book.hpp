#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace chat::logic {

/// Broker heartbeats heard since they were last recorded (broker id → epoch, the latest
/// wins). Heartbeats never wait behind commands: a busy logic must not make a busy broker
/// look dead. Thread-safe: NATS threads note, the reaper records.
class heartbeat_book {
public:
    /// A heartbeat came in.
    void heard(const std::string& broker_id, const std::string& epoch);

    /// Hands every heartbeat heard since the last call to `record(broker_id, epoch)`,
    /// without holding the book's lock. If `record` throws, the heartbeats not recorded
    /// yet are kept (unless a newer one from the same broker came meanwhile) and the
    /// exception propagates.
    void record_all(const std::function<void(const std::string& broker_id, const std::string& epoch)>& record);

private:
    std::mutex mutex_;
    std::map<std::string, std::string> heard_;
};

}  // namespace chat::logic
