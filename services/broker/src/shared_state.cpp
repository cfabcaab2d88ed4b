#include "shared_state.hpp"

#include <charconv>
#include <chrono>

#include <boost/asio/steady_timer.hpp>

#include "shared/bus/subjects.hpp"
#include "shared/proto/chat.pb.h"
#include "shared/util/token.hpp"
#include "websocket_session.hpp"

namespace chat::broker {

shared_state::shared_state(boost::asio::io_context& ioc, broker_settings settings,
                           std::shared_ptr<spdlog::logger> log)
    : ioc_(ioc),
      settings_(std::move(settings)),
      log_(std::move(log)),
      epoch_(util::random_hex(8)),
      nats_({settings_.nats.url, "chat-broker-" + settings_.id}, log_),
      requester_(nats_, "_INBOX.broker." + settings_.id + "." + epoch_) {
    // Bursts of twice the rate; per-minute limits allow their whole minute at once.
    if (const double rate = settings_.account_messages_per_second; rate > 0)
        account_messages_ = std::make_unique<util::keyed_rate_limiter>(rate, 2 * rate);
    if (const double per_minute = settings_.accounts_per_minute_per_address; per_minute > 0)
        address_accounts_ = std::make_unique<util::keyed_rate_limiter>(per_minute / 60, per_minute);
    if (const double per_minute = settings_.connections_per_minute_per_address; per_minute > 0)
        address_connections_ = std::make_unique<util::keyed_rate_limiter>(per_minute / 60, per_minute);
}

shared_state::~shared_state() = default;

void shared_state::join(std::uint64_t conn_id, const std::weak_ptr<websocket_session>& session) {
    std::lock_guard lock(mutex_);
    sessions_[conn_id] = session;
}

void shared_state::leave(std::uint64_t conn_id) {
    std::lock_guard lock(mutex_);
    sessions_.erase(conn_id);
}

void shared_state::bind(std::int64_t account_id, const std::weak_ptr<websocket_session>& session) {
    std::lock_guard lock(mutex_);
    accounts_[account_id] = session;
}

void shared_state::unbind(std::int64_t account_id, const websocket_session* session) {
    std::lock_guard lock(mutex_);
    auto it = accounts_.find(account_id);
    if (it == accounts_.end()) return;
    auto current = it->second.lock();
    // Only the connection the account is bound to may remove the binding; a replaced
    // connection closing later must not unbind its successor.
    if (!current || current.get() == session) accounts_.erase(it);
}

std::shared_ptr<websocket_session> shared_state::find_account(std::int64_t account_id) {
    std::lock_guard lock(mutex_);
    auto it = accounts_.find(account_id);
    return it == accounts_.end() ? nullptr : it->second.lock();
}

void shared_state::hold(std::int64_t account_id, const std::weak_ptr<websocket_session>& session) {
    std::lock_guard lock(mutex_);
    holding_[account_id] = session;
}

void shared_state::unhold(std::int64_t account_id, const websocket_session* session) {
    std::lock_guard lock(mutex_);
    auto it = holding_.find(account_id);
    if (it == holding_.end()) return;
    auto current = it->second.lock();
    if (!current || current.get() == session) holding_.erase(it);
}

std::shared_ptr<websocket_session> shared_state::find_holding(std::int64_t account_id) {
    std::lock_guard lock(mutex_);
    auto it = holding_.find(account_id);
    return it == holding_.end() ? nullptr : it->second.lock();
}

bool shared_state::allow_account_message(std::int64_t account_id) {
    return !account_messages_ || account_messages_->try_take(std::to_string(account_id));
}

bool shared_state::allow_account_creation(const std::string& address) {
    return !address_accounts_ || address_accounts_->try_take(address);
}

bool shared_state::allow_connection(const std::string& address) {
    return !address_connections_ || address_connections_->try_take(address);
}

void shared_state::sweep_limits() {
    for (auto* limiter : {account_messages_.get(), address_accounts_.get(), address_connections_.get()})
        if (limiter) limiter->sweep();
}

std::shared_ptr<websocket_session> shared_state::find_connection(const std::string& conn_key) {
    const auto slash = conn_key.find('/');
    if (slash == std::string::npos || conn_key.compare(0, slash, epoch_) != 0) return nullptr;
    std::uint64_t conn_id = 0;
    const auto* first = conn_key.data() + slash + 1;
    if (std::from_chars(first, conn_key.data() + conn_key.size(), conn_id).ec != std::errc()) return nullptr;
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(conn_id);
    return it == sessions_.end() ? nullptr : it->second.lock();
}

std::vector<std::shared_ptr<websocket_session>> shared_state::all_sessions() {
    std::vector<std::shared_ptr<websocket_session>> out;
    std::lock_guard lock(mutex_);
    for (auto& [id, weak] : sessions_)
        if (auto s = weak.lock()) out.push_back(std::move(s));
    return out;
}

std::size_t shared_state::connection_count() {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

void shared_state::report_offline(std::int64_t account_id, const std::string& conn_key) {
    send_offline(account_id, conn_key, 0);
}

void shared_state::send_offline(std::int64_t account_id, const std::string& conn_key, int attempt) {
    proto::Request request;
    request.mutable_origin()->set_broker_id(settings_.id);
    request.mutable_origin()->set_conn_key(conn_key);
    request.mutable_origin()->set_account_id(account_id);
    request.mutable_offline()->set_account_id(account_id);
    requester_.request(
        std::string(bus::subjects::k_offline), request.SerializeAsString(), settings_.request_timeout,
        [this, account_id, conn_key, attempt](bus::request_status status, std::string_view) {
            if (status == bus::request_status::replied) return;
            if (attempt == 0 || attempt % 10 == 0)
                log_->warn("offline report for account {} not answered; retrying", account_id);
            // Back off up to 2 s on a timer: nothing ever sleeps on an I/O thread.
            auto timer = std::make_shared<boost::asio::steady_timer>(
                ioc_, std::chrono::milliseconds(std::min(2000, 100 << std::min(attempt, 5))));
            timer->async_wait([this, timer, account_id, conn_key, attempt](boost::system::error_code ec) {
                if (!ec) send_offline(account_id, conn_key, attempt + 1);
            });
        });
}

}  // namespace chat::broker
