#include "services/broker/src/broker_service.hpp"

#include <boost/asio/post.hpp>
#include <thread>
#include <vector>

#include "services/broker/src/broker_context.hpp"
#include "services/broker/src/listener.hpp"
#include "services/broker/src/ws_connection.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/log/logger.hpp"
#include "shared/proto/chat.pb.h"
#include "shared/wire/server_frames.hpp"

namespace chat::broker {

namespace net = boost::asio;
namespace subjects = bus::subjects;

namespace {

// How long a shutdown waits for closing handshakes, requests in flight and offline
// reports; with the NATS drain after it a SIGTERMed broker is gone within about 5 s.
constexpr std::chrono::milliseconds k_goodbye_limit{3000};

}  // namespace

broker_service::broker_service(broker_settings settings, std::shared_ptr<spdlog::logger> log)
    : ioc_(settings.threads),
      log_(log),
      ctx_(std::make_shared<broker_context>(ioc_, settings, log)),
      heartbeat_timer_(ioc_),
      hello_timer_(ioc_),
      shutdown_timer_(ioc_),
      signals_(ioc_, SIGINT, SIGTERM) {
    const auto address = net::ip::make_address(settings.address);
    listener_ = std::make_shared<listener>(ioc_, net::ip::tcp::endpoint{address, settings.port}, ctx_);
    // TYPING relayed by other brokers (a cnats thread, as pushes): find the receiver's
    // connection under the registry lock, then post to its strand. Only ctx_'s members
    // are touched: a connection may keep ctx_ alive a moment past this object.
    ctx_->typing().on_typing([ctx = ctx_.get()](const proto::Typing& typing) {
        if (auto connection = ctx->connections().bound().find(typing.receiver_id())) connection->relay_typing(typing);
    });
    push_sub_ = ctx_->nats().subscribe(subjects::broker_push(settings.id),
                                         [this](bus::message&& m) { on_push(std::move(m)); });
    // Pushes sent while the link was down are gone: every connection asks for what it
    // has not acknowledged.
    ctx_->nats().on_reconnected([this] {
        for (auto& connection : ctx_->connections().all()) connection->resume_after_bus_loss();
    });
}

broker_service::~broker_service() = default;

void broker_service::run() {
    const auto& s = ctx_->settings();
    log_->info("broker {} (epoch {}) listening on http://{}:{}/ (WebSocket /ws)", s.id, ctx_->epoch(), s.address,
               listener_->port());
    listener_->run();
    send_hello();
    heartbeat();
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
        if (ec) return;
        log_->info("signal {}: closing connections", sig);
        begin_shutdown();
    });
    std::vector<std::thread> threads;
    for (int i = 1; i < s.threads; ++i) threads.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : threads) t.join();
    push_sub_ = bus::subscription();
    ctx_->typing().drain(std::chrono::milliseconds(500));
    ctx_->nats().drain(std::chrono::seconds(2));
    log_->info("broker stopped");
}

void broker_service::on_push(bus::message&& m) {
    // A cnats thread: find the target under the registry lock, then post to its strand.
    proto::Push push;
    if (!push.ParseFromArray(m.data().data(), static_cast<int>(m.data().size()))) {
        log_->warn("undecodable push");
        return;
    }
    for (const auto& d : push.deliveries()) {
        auto bound = ctx_->connections().bound().find(d.receiver_id());
        auto holding = ctx_->connections().holding().find(d.receiver_id());
        if (!bound && !holding) continue;  // not connected here (any more)
        auto frame = std::make_shared<const std::string>(wire::push_frame(d));
        const auto change = session_change_of(d);
        if (bound) bound->push(d.receiver_id(), frame, change);
        if (holding && holding != bound) holding->push(d.receiver_id(), frame, change);
    }
    for (const auto& k : push.kicks())
        if (auto connection = ctx_->find_connection(k.conn_key())) connection->kick(k.conn_key());
    if (push.resync()) {
        log_->warn("logic took this broker's accounts away (late heartbeats); resuming every connection");
        for (auto& connection : ctx_->connections().all()) connection->resume_after_bus_loss();
    }
}

void broker_service::send_hello() {
    proto::Request request;
    request.mutable_origin()->set_broker_id(ctx_->settings().id);
    request.mutable_origin()->set_conn_key(ctx_->epoch() + "/0");
    request.mutable_broker_hello()->set_broker_id(ctx_->settings().id);
    request.mutable_broker_hello()->set_epoch(ctx_->epoch());
    ctx_->requester().request(
        std::string(subjects::k_broker_hello), request.SerializeAsString(), ctx_->settings().request_timeout,
        [this](bus::request_status status, std::string_view data) {
            proto::Reply reply;
            if (status == bus::request_status::replied && reply.ParseFromArray(data.data(), static_cast<int>(data.size())) &&
                reply.code() == 0) {
                log_->info("logic knows this broker's epoch; accounts of earlier runs are offline");
                return;
            }
            // Logic is not up yet: try again shortly (timers belong to the I/O threads).
            net::post(ioc_, [this] {
                hello_timer_.expires_after(std::chrono::seconds(1));
                hello_timer_.async_wait([this](boost::system::error_code ec) {
                    if (!ec) send_hello();
                });
            });
        });
}

void broker_service::heartbeat() {
    proto::BrokerHeartbeat hb;
    hb.set_broker_id(ctx_->settings().id);
    hb.set_epoch(ctx_->epoch());
    try {
        ctx_->nats().publish(std::string(subjects::k_broker_heartbeat), hb.SerializeAsString());
    } catch (const bus::nats_error& e) {
        log_->debug("heartbeat not sent: {}", e.what());
    }
    ctx_->sweep_limits();
    heartbeat_timer_.expires_after(ctx_->settings().heartbeat_interval);
    heartbeat_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) heartbeat();
    });
}

void broker_service::begin_shutdown() {
    // No new WebSocket from here on: upgrades still arriving get 503, and one accepted
    // before the flag closes itself as soon as it joins (ws_connection::on_accept).
    ctx_->begin_stopping();
    listener_->stop();
    heartbeat_timer_.cancel();
    hello_timer_.cancel();
    const auto connections = ctx_->connections().all();
    log_->info("closing {} connections with 1012 (service restart)", connections.size());
    for (auto& connection : connections) connection->shutdown();
    wait_for_goodbyes(std::chrono::steady_clock::now() + k_goodbye_limit);
}

void broker_service::wait_for_goodbyes(std::chrono::steady_clock::time_point deadline) {
    // Connections answer their DIALOGUE batch at logic, close with 1012 and report their
    // accounts offline; a request whose reply can no longer be written still finishes at
    // logic (the client sends an unanswered DIALOGUE again, with the same requestId).
    // Then, or at the deadline, the process exits.
    const bool done = ctx_->connections().size() == 0 && ctx_->requester().in_flight() == 0;
    if (done || std::chrono::steady_clock::now() >= deadline) {
        if (!done)
            log_->warn("stopping with {} connections and {} requests left after {} ms", ctx_->connections().size(),
                       ctx_->requester().in_flight(), k_goodbye_limit.count());
        ioc_.stop();
        return;
    }
    shutdown_timer_.expires_after(std::chrono::milliseconds(50));
    shutdown_timer_.async_wait([this, deadline](boost::system::error_code ec) {
        if (!ec) wait_for_goodbyes(deadline);
    });
}

int run_broker(const config::source& config) {
    auto settings = load_broker_settings(config);
    auto log = log::make_service_logger("broker", settings.log.level, settings.log.format);
    broker_service service(settings, log);
    service.run();
    return 0;
}

}  // namespace chat::broker
