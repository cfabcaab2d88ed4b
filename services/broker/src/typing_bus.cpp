#include "services/broker/src/typing_bus.hpp"

#include <utility>

#include "shared/bus/subjects.hpp"

namespace chat::broker {

namespace {

bus::connection::options with_global_delivery(bus::connection::options options) {
    options.global_delivery = true;
    return options;
}

}  // namespace

typing_lease::typing_lease(typing_lease&& other) noexcept
    : bus_(std::exchange(other.bus_, nullptr)), account_id_(other.account_id_) {}

typing_lease& typing_lease::operator=(typing_lease&& other) noexcept {
    if (this != &other) {
        release();
        bus_ = std::exchange(other.bus_, nullptr);
        account_id_ = other.account_id_;
    }
    return *this;
}

typing_lease::~typing_lease() { release(); }

void typing_lease::release() {
    if (bus_) std::exchange(bus_, nullptr)->release(account_id_);
}

typing_bus::typing_bus(bus::connection::options options, std::shared_ptr<spdlog::logger> log)
    : log_(log), nats_(with_global_delivery(std::move(options)), log) {}

typing_bus::~typing_bus() {
    std::lock_guard lock(mutex_);
    subs_.clear();
}

typing_lease typing_bus::listen(std::int64_t account_id) {
    std::lock_guard lock(mutex_);
    auto it = subs_.find(account_id);
    if (it == subs_.end()) {
        try {
            auto sub = nats_.subscribe(bus::subjects::typing_to(account_id),
                                       [this](bus::message&& m) { on_message(std::move(m)); });
            it = subs_.emplace(account_id, entry{0, std::move(sub)}).first;
        } catch (const bus::nats_error& e) {
            log_->warn("account {} will not hear TYPING: {}", account_id, e.what());
            return {};
        }
    }
    ++it->second.leases;
    return typing_lease(this, account_id);
}

void typing_bus::release(std::int64_t account_id) {
    std::lock_guard lock(mutex_);
    auto it = subs_.find(account_id);
    if (it != subs_.end() && --it->second.leases == 0) subs_.erase(it);
}

std::size_t typing_bus::accounts() const {
    std::lock_guard lock(mutex_);
    return subs_.size();
}

void typing_bus::publish(const proto::Typing& typing) {
    try {
        nats_.publish(bus::subjects::typing_to(typing.receiver_id()), typing.SerializeAsString());
    } catch (const bus::nats_error& e) {
        log_->debug("TYPING for account {} dropped: {}", typing.receiver_id(), e.what());
    }
}

void typing_bus::on_message(bus::message&& m) {
    proto::Typing typing;
    if (!typing.ParseFromArray(m.data().data(), static_cast<int>(m.data().size()))) {
        log_->warn("undecodable TYPING on {}", m.subject());
        return;
    }
    // Only what the subject names: a publisher cannot reach an account by the payload.
    if (bus::subjects::typing_to(typing.receiver_id()) != m.subject()) return;
    if (handler_) handler_(typing);
}

void typing_bus::drain(std::chrono::milliseconds timeout) {
    {
        std::lock_guard lock(mutex_);
        subs_.clear();
    }
    nats_.drain(timeout);
}

}  // namespace chat::broker
