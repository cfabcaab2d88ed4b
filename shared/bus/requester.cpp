#include "shared/bus/requester.hpp"

#include <charconv>

namespace chat::bus {

requester::requester(connection& conn, const std::string& inbox_prefix)
    : conn_(conn), prefix_(inbox_prefix + ".") {
    expirer_ = std::thread([this] { expire_loop(); });
    replies_ = conn_.subscribe(prefix_ + "*", [this](message&& m) { on_reply(std::move(m)); });
}

requester::~requester() {
    replies_ = subscription();
    std::unordered_map<std::uint64_t, pending> abandoned;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        abandoned.swap(pending_);
        deadlines_.clear();
    }
    wake_.notify_all();
    expirer_.join();
    for (auto& [id, p] : abandoned) p.done(request_status::failed, {});
}

void requester::request(const std::string& subject, std::string_view data, std::chrono::milliseconds timeout,
                        callback done) {
    std::uint64_t id;
    const auto deadline = clock::now() + timeout;
    {
        std::lock_guard lock(mutex_);
        id = next_id_++;
        pending_.emplace(id, pending{std::move(done), deadline});
        deadlines_.emplace(deadline, id);
    }
    wake_.notify_one();
    try {
        conn_.publish_request(subject, prefix_ + std::to_string(id), data);
    } catch (const nats_error&) {
        if (auto cb = take(id)) cb(request_status::failed, {});
    }
}

std::size_t requester::in_flight() const {
    std::lock_guard lock(mutex_);
    return pending_.size();
}

requester::callback requester::take(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return {};
    auto done = std::move(it->second.done);
    auto range = deadlines_.equal_range(it->second.deadline);
    for (auto d = range.first; d != range.second; ++d)
        if (d->second == id) {
            deadlines_.erase(d);
            break;
        }
    pending_.erase(it);
    return done;
}

void requester::on_reply(message&& m) {
    const auto subject = m.subject();
    const auto token = subject.substr(prefix_.size());
    std::uint64_t id = 0;
    if (std::from_chars(token.data(), token.data() + token.size(), id).ec != std::errc()) return;
    auto done = take(id);
    if (!done) return;  // already timed out
    if (m.no_responders())
        done(request_status::no_responders, {});
    else
        done(request_status::replied, m.data());
}

void requester::expire_loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (deadlines_.empty()) {
            wake_.wait(lock);
            continue;
        }
        const auto first = deadlines_.begin()->first;
        if (clock::now() < first) {
            wake_.wait_until(lock, first);
            continue;
        }
        const auto id = deadlines_.begin()->second;
        deadlines_.erase(deadlines_.begin());
        auto it = pending_.find(id);
        if (it == pending_.end()) continue;
        auto done = std::move(it->second.done);
        pending_.erase(it);
        lock.unlock();
        done(request_status::timed_out, {});
        lock.lock();
    }
}

}  // namespace chat::bus
