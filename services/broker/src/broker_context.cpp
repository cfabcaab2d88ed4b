#include "services/broker/src/broker_context.hpp"

#include <charconv>
#include <chrono>

#include <boost/asio/steady_timer.hpp>

#include "shared/bus/subjects.hpp"
#include "shared/proto/chat.pb.h"
#include "shared/util/backoff.hpp"
#include "shared/util/token.hpp"

namespace chat::broker {

namespace {

// Offline reports are retried until logic answers, backing off up to 2 s.
constexpr util::backoff k_offline_backoff{std::chrono::milliseconds(100), std::chrono::milliseconds(2000)};

}  // namespace

broker_context::broker_context(boost::asio::io_context& ioc, broker_settings settings,
                               std::shared_ptr<spdlog::logger> log)
    : ioc_(ioc),
      settings_(std::move(settings)),
      log_(std::move(log)),
      epoch_(util::random_hex(8)),
      proxies_(settings_.trusted_proxies),
      nats_(bus::connection_options(settings_.nats, "chat-broker-" + settings_.id), log_),
      requester_(nats_, bus::subjects::broker_inbox(settings_.id) + "." + epoch_),
      typing_(bus::connection_options(settings_.nats, "chat-broker-" + settings_.id + "-typing"), log_) {
    // Bursts of twice the rate; per-minute limits allow their whole minute at once.
    if (const double rate = settings_.account_messages_per_second; rate > 0)
        account_messages_ = std::make_unique<util::keyed_rate_limiter>(rate, 2 * rate);
    if (const double per_minute = settings_.accounts_per_minute_per_address; per_minute > 0)
        address_accounts_ = std::make_unique<util::keyed_rate_limiter>(per_minute / 60, per_minute);
    if (const double per_minute = settings_.connections_per_minute_per_address; per_minute > 0)
        address_connections_ = std::make_unique<util::keyed_rate_limiter>(per_minute / 60, per_minute);
}

broker_context::~broker_context() = default;

bool broker_context::allow_account_creation(const std::string& address) {
    return !address_accounts_ || address_accounts_->try_take(address);
}

bool broker_context::allow_connection(const std::string& address) {
    return !address_connections_ || address_connections_->try_take(address);
}

void broker_context::sweep_limits() {
    for (auto* limiter : {account_messages_.get(), address_accounts_.get(), address_connections_.get()})
        if (limiter) limiter->sweep();
}

std::shared_ptr<ws_connection> broker_context::find_connection(const std::string& conn_key) {
    const auto slash = conn_key.find('/');
    if (slash == std::string::npos || conn_key.compare(0, slash, epoch_) != 0) return nullptr;
    std::uint64_t conn_id = 0;
    const auto* first = conn_key.data() + slash + 1;
    if (std::from_chars(first, conn_key.data() + conn_key.size(), conn_id).ec != std::errc()) return nullptr;
    return connections_.find(conn_id);
}

void broker_context::report_offline(std::int64_t account_id, const std::string& conn_key) {
    send_offline(account_id, conn_key, 0);
}

void broker_context::send_offline(std::int64_t account_id, const std::string& conn_key, int attempt) {
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
            // On a timer: nothing ever sleeps on an I/O thread.
            auto timer = std::make_shared<boost::asio::steady_timer>(ioc_, k_offline_backoff.delay(attempt));
            timer->async_wait([this, timer, account_id, conn_key, attempt](boost::system::error_code ec) {
                if (!ec) send_offline(account_id, conn_key, attempt + 1);
            });
        });
}

}  // namespace chat::broker
