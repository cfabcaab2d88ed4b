#include "shared/bus/nats_connection.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "shared/config/common_settings.hpp"

namespace chat::bus {
namespace {

struct options_deleter {
    void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
};

// cnats calls this with the message; the closure lives as long as the subscription.
void dispatch(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto& handler = *static_cast<message_handler*>(closure);
    message m(msg);
    try {
        handler(std::move(m));
    } catch (const std::exception& e) {
        // Nothing may escape into a cnats thread.
        spdlog::error("NATS handler failed: {}", e.what());
    } catch (...) {
        spdlog::error("NATS handler failed with an unknown exception");
    }
}

// Reconnect backoff: 100 ms doubling to 2 s, plus up to 10% jitter so a restarted
// nats-server is not hit by every client at the same instant.
int64_t reconnect_delay(natsConnection*, int attempts, void*) {
    int64_t delay = 100;
    for (int i = 1; i < attempts && delay < 2000; ++i) delay *= 2;
    if (delay > 2000) delay = 2000;
    return delay + static_cast<int64_t>(nats_Now() % (delay / 10 + 1));
}

// cnats calls this once a subscription will deliver nothing more: free its closure.
void on_complete(void* closure) { delete static_cast<message_handler*>(closure); }

subscription attach(natsSubscription* sub, std::unique_ptr<message_handler> closure) {
    natsSubscription_SetPendingLimits(sub, 1'000'000, 512 * 1024 * 1024);
    check(natsSubscription_SetOnCompleteCB(sub, on_complete, closure.release()), "SetOnCompleteCB");
    return subscription(sub);
}

}  // namespace

nats_error::nats_error(const std::string& what, natsStatus s)
    : std::runtime_error(fmt::format("{}: {}", what, natsStatus_GetText(s))), status(s) {}

void check(natsStatus s, const char* what) {
    if (s == NATS_OK) return;
    // cnats keeps the detail (a file it could not read, a refused login) per thread.
    const char* detail = nats_GetLastError(nullptr);
    if (detail != nullptr && *detail != '\0') throw nats_error(fmt::format("{} ({})", what, detail), s);
    throw nats_error(what, s);
}

std::string redact_url(const std::string& url) {
    const auto scheme = url.find("://");
    const auto start = scheme == std::string::npos ? 0 : scheme + 3;
    const auto at = url.rfind('@');
    if (at == std::string::npos || at < start) return url;
    return url.substr(0, start) + url.substr(at + 1);
}

connection::options connection_options(const config::nats_settings& nats, std::string name) {
    connection::options o;
    o.url = nats.url;
    o.name = std::move(name);
    o.user = nats.user;
    o.password = nats.password;
    o.tls_ca_file = nats.tls.ca_file;
    if (!o.tls_ca_file.empty()) o.tls_server_name = config::tls_server_name(nats);
    return o;
}

std::string_view message::reply() const {
    const char* r = natsMsg_GetReply(msg_.get());
    return r ? std::string_view(r) : std::string_view();
}

std::string_view message::data() const {
    return {natsMsg_GetData(msg_.get()), static_cast<std::size_t>(natsMsg_GetDataLength(msg_.get()))};
}

subscription& subscription::operator=(subscription&& other) noexcept {
    if (this != &other) {
        release();
        sub_ = std::move(other.sub_);
    }
    return *this;
}

subscription::~subscription() { release(); }

void subscription::release() {
    if (!sub_) return;
    // The handler closure is freed by on_complete once cnats will not call it again.
    natsSubscription_Unsubscribe(sub_.get());
    sub_.reset();
}

void subscription::drain() {
    if (!sub_) return;
    natsSubscription_Drain(sub_.get());
    natsSubscription_WaitForDrainCompletion(sub_.get(), 5000);
}

connection::connection(const options& opts, std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {
    natsOptions* raw_opts = nullptr;
    check(natsOptions_Create(&raw_opts), "natsOptions_Create");
    std::unique_ptr<natsOptions, options_deleter> o(raw_opts);
    // Every node of a cluster: cnats picks one at random (spreading the clients) and fails
    // over to the others.
    const auto urls = config::split_nats_urls(opts.url);
    std::vector<const char*> servers;
    for (const auto& url : urls) {
        servers.push_back(url.c_str());
        urls_ += (urls_.empty() ? "" : ",") + redact_url(url);
    }
    check(natsOptions_SetServers(o.get(), servers.data(), static_cast<int>(servers.size())), "natsOptions_SetServers");
    if (!opts.user.empty())
        check(natsOptions_SetUserInfo(o.get(), opts.user.c_str(), opts.password.c_str()), "natsOptions_SetUserInfo");
    if (!opts.tls_ca_file.empty()) {
        check(natsOptions_SetSecure(o.get(), true), "natsOptions_SetSecure");
        check(natsOptions_LoadCATrustedCertificates(o.get(), opts.tls_ca_file.c_str()),
              "natsOptions_LoadCATrustedCertificates");
        // cnats checks the server's name only when told which name to expect.
        if (!opts.tls_server_name.empty())
            check(natsOptions_SetExpectedHostname(o.get(), opts.tls_server_name.c_str()),
                  "natsOptions_SetExpectedHostname");
    }
    check(natsOptions_SetName(o.get(), opts.name.c_str()), "natsOptions_SetName");
    check(natsOptions_SetMaxReconnect(o.get(), -1), "natsOptions_SetMaxReconnect");
    check(natsOptions_SetCustomReconnectDelay(o.get(), reconnect_delay, nullptr), "SetCustomReconnectDelay");
    check(natsOptions_SetReconnectBufSize(o.get(), 32 * 1024 * 1024), "SetReconnectBufSize");
    check(natsOptions_SetMaxPendingMsgs(o.get(), 1'000'000), "SetMaxPendingMsgs");
    check(natsOptions_SetSendAsap(o.get(), opts.send_asap), "SetSendAsap");
    check(natsOptions_UseGlobalMessageDelivery(o.get(), opts.global_delivery), "UseGlobalMessageDelivery");
    check(natsOptions_SetRetryOnFailedConnect(o.get(), true, on_connected, this), "SetRetryOnFailedConnect");
    check(natsOptions_SetDisconnectedCB(o.get(), on_disconnected, this), "SetDisconnectedCB");
    check(natsOptions_SetReconnectedCB(o.get(), on_reconnected, this), "SetReconnectedCB");
    check(natsOptions_SetClosedCB(o.get(), on_closed, this), "SetClosedCB");
    check(natsOptions_SetErrorHandler(o.get(), on_error, this), "SetErrorHandler");

    natsConnection* nc = nullptr;
    const auto s = natsConnection_Connect(&nc, o.get());
    if (s == NATS_NOT_YET_CONNECTED) {
        // The reason (refused, bad certificate, wrong password) is cnats' last error.
        const char* why = nats_GetLastError(nullptr);
        log_->warn("NATS at {} not reachable yet ({}); retrying in the background", urls_,
                   why != nullptr && *why != '\0' ? why : "no answer");
    } else {
        check(s, "natsConnection_Connect");
    }
    conn_.reset(nc);
    if (s == NATS_OK) log_->info("connected to NATS at {}{}", server_url(nc), opts.tls_ca_file.empty() ? "" : " (TLS)");
}

std::string connection::server_url(natsConnection* nc) {
    char buffer[512] = {0};
    if (natsConnection_GetConnectedUrl(nc, buffer, sizeof buffer) == NATS_OK && buffer[0] != '\0') {
        std::lock_guard lock(url_mutex_);
        last_url_ = redact_url(buffer);
        return last_url_;
    }
    std::lock_guard lock(url_mutex_);
    return last_url_.empty() ? urls_ : last_url_;
}

connection::~connection() {
    if (!conn_) return;
    natsConnection_Close(conn_.get());  // nothing to do when drain() closed it already
    // natsConnection_Close only queues the closed callback: without this wait it could run
    // on cnats' thread after this object (and its logger) are gone.
    if (!wait_closed(std::chrono::seconds(5))) log_->warn("NATS did not confirm closing within 5 s");
}

bool connection::wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(closed_mutex_);
    return closed_cv_.wait_for(lock, timeout, [this] { return closed_; });
}

bool connection::connected() const { return natsConnection_Status(conn_.get()) == NATS_CONN_STATUS_CONNECTED; }

void connection::publish(const std::string& subject, std::string_view data) {
    check(natsConnection_Publish(conn_.get(), subject.c_str(), data.data(), static_cast<int>(data.size())),
          "natsConnection_Publish");
}

void connection::publish_request(const std::string& subject, const std::string& reply, std::string_view data) {
    check(natsConnection_PublishRequest(conn_.get(), subject.c_str(), reply.c_str(), data.data(),
                                        static_cast<int>(data.size())),
          "natsConnection_PublishRequest");
}

void connection::flush(std::chrono::milliseconds timeout) {
    check(natsConnection_FlushTimeout(conn_.get(), timeout.count()), "natsConnection_Flush");
}

subscription connection::subscribe(const std::string& subject, message_handler handler) {
    auto closure = std::make_unique<message_handler>(std::move(handler));
    natsSubscription* sub = nullptr;
    check(natsConnection_Subscribe(&sub, conn_.get(), subject.c_str(), dispatch, closure.get()),
          "natsConnection_Subscribe");
    return attach(sub, std::move(closure));
}

subscription connection::queue_subscribe(const std::string& subject, const std::string& queue,
                                         message_handler handler) {
    auto closure = std::make_unique<message_handler>(std::move(handler));
    natsSubscription* sub = nullptr;
    check(natsConnection_QueueSubscribe(&sub, conn_.get(), subject.c_str(), queue.c_str(), dispatch,
                                        closure.get()),
          "natsConnection_QueueSubscribe");
    return attach(sub, std::move(closure));
}

void connection::drain(std::chrono::milliseconds timeout) {
    if (natsConnection_DrainTimeout(conn_.get(), timeout.count()) != NATS_OK) natsConnection_Close(conn_.get());
    // Draining goes on in the background and ends by closing the connection.
    wait_closed(timeout + std::chrono::seconds(1));
}

void connection::on_connected(natsConnection* nc, void* self) {
    auto* c = static_cast<connection*>(self);
    c->log_->info("connected to NATS at {}", c->server_url(nc));
}

void connection::on_disconnected(natsConnection* nc, void* self) {
    auto* c = static_cast<connection*>(self);
    if (natsConnection_IsClosed(nc)) return;  // our own close, not an outage
    std::string lost;
    {
        std::lock_guard lock(c->url_mutex_);
        lost = c->last_url_.empty() ? c->urls_ : c->last_url_;
    }
    c->log_->warn("lost NATS connection to {}; reconnecting with backoff to any of {}", lost, c->urls_);
}

void connection::on_reconnected(natsConnection* nc, void* self) {
    auto* c = static_cast<connection*>(self);
    c->log_->info("reconnected to NATS at {}", c->server_url(nc));
    std::function<void()> hook;
    {
        std::lock_guard lock(c->hook_mutex_);
        hook = c->reconnected_hook_;
    }
    if (hook) hook();
}

void connection::on_reconnected(std::function<void()> hook) {
    std::lock_guard lock(hook_mutex_);
    reconnected_hook_ = std::move(hook);
}

void connection::on_closed(natsConnection*, void* self) {
    auto* c = static_cast<connection*>(self);
    c->log_->info("NATS connection closed");
    // The last touch of `c`: once the lock is released, the destructor may free it.
    std::lock_guard lock(c->closed_mutex_);
    c->closed_ = true;
    c->closed_cv_.notify_all();
}

void connection::on_error(natsConnection* nc, natsSubscription*, natsStatus s, void* self) {
    if (s == NATS_CONNECTION_CLOSED) return;  // our own shutdown
    auto* c = static_cast<connection*>(self);
    // A permissions violation repeats with every message: at most one line a second.
    const auto now = nats_Now();
    auto last = c->last_error_log_.load();
    if (now - last < 1000 || !c->last_error_log_.compare_exchange_strong(last, now)) return;
    const char* detail = nullptr;
    natsConnection_GetLastError(nc, &detail);
    c->log_->error("NATS asynchronous error: {}{}{}", natsStatus_GetText(s), detail != nullptr ? ": " : "",
                   detail != nullptr ? detail : "");
}

}  // namespace chat::bus
