#include "services/logic/src/heartbeat_book.hpp"

namespace chat::logic {

void heartbeat_book::heard(const std::string& broker_id, const std::string& epoch) {
    std::lock_guard lock(mutex_);
    heard_[broker_id] = epoch;
}

void heartbeat_book::record_all(const std::function<void(const std::string&, const std::string&)>& record) {
    std::map<std::string, std::string> heard;
    {
        std::lock_guard lock(mutex_);
        heard.swap(heard_);
    }
    for (auto it = heard.begin(); it != heard.end(); ++it) {
        try {
            record(it->first, it->second);
        } catch (...) {
            std::lock_guard lock(mutex_);
            for (; it != heard.end(); ++it) heard_.try_emplace(it->first, it->second);
            throw;
        }
    }
}

}  // namespace chat::logic
