#include "tests/support/service_stack.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "tests/support/diagnostics.hpp"

namespace chat::test {

service_stack::service_stack(stack_options options)
    : options_(std::move(options)), dir_("chat-e2e") {
    if (const char* level = std::getenv("CHAT_TEST_LOG_LEVEL"); level != nullptr && *level != '\0') {
        options_.log_level = level;
    }
    const auto& o = options_;
    db_ = std::make_unique<scratch_database>(dir_.path());
    stack::options s;
    s.dir = dir_.path();
    s.database_url = db_->url();
    s.passfile = postgres_server::shared().passfile();
    s.brokers = o.brokers;
    s.logics = o.logics;
    s.dispatchers = o.dispatchers;
    s.brokers_first = o.brokers_first;
    s.nginx = o.nginx;
    s.nats_nodes = o.nats_nodes;
    s.locked_bus = o.locked_bus;
    s.nats_tls = o.nats_tls;
    s.ready_timeout = 40s;
    s.sets = {
        "broker.threads=" + std::to_string(o.broker_threads),
        "broker.request_timeout=" + o.request_timeout,
        "broker.heartbeat_interval=" + o.heartbeat_interval,
        "limits.max_frame_bytes=" + std::to_string(o.max_frame_bytes),
        // The shipped per-address and per-connection limits are off: every test person
        // comes from 127.0.0.1, and a test creates accounts far faster than a person.
        "limits.messages_per_second=0",
        "limits.account_messages_per_second=0",
        "limits.accounts_per_minute_per_address=0",
        "limits.connections_per_minute_per_address=0",
        "http.allowed_origins=[]",
        "ping.interval=" + o.ping_interval,
        "ping.max_wait=" + o.ping_max_wait,
        "logic.workers=" + std::to_string(o.logic_workers),
        "logic.dialogue_batch_max=" + std::to_string(o.dialogue_batch_max),
        "presence.broker_timeout=" + o.broker_timeout,
        "presence.sweep_interval=" + o.presence_sweep,
        "presence.grace=" + o.grace,
        "presence.token_ttl=" + o.token_ttl,
        "dispatcher.workers=" + std::to_string(o.dispatcher_workers),
        "dispatcher.batch_max=" + std::to_string(o.dispatcher_batch_max),
        "dispatcher.sweep_interval=" + o.dispatcher_sweep,
        "dispatcher.rebalance_interval=" + o.rebalance_interval,
        "log.level=" + o.log_level,
    };
    s.sets.insert(s.sets.end(), o.sets.begin(), o.sets.end());
    system_ = std::make_unique<stack::system>(s);
    set_failure_context([this] { return logs(); });
}

service_stack::~service_stack() { clear_failure_context(); }

void service_stack::restart_broker(std::size_t index) {
    if (broker(index).running())
        throw std::logic_error("restart_broker: " + broker_id(index) + " still runs");
    // The old process's listening socket is gone with it; the port is free again.
    system_->start(system_->get(stack::service_kind::broker, index).name);
}

std::string service_stack::moderation_token() const {
    std::ifstream in(system_->moderation_token_file());
    std::string token;
    if (!std::getline(in, token)) throw std::runtime_error("no moderation token in " + system_->moderation_token_file().string());
    return token;
}

std::unique_ptr<ws_client> service_stack::connect(std::size_t index) {
    return std::make_unique<ws_client>(broker_port(index));
}

std::unique_ptr<ws_client> service_stack::connect_front(ws_client::options options) {
    if (system_->nginx() == nullptr) throw std::logic_error("connect_front: this stack has no nginx");
    return std::make_unique<ws_client>(system_->nginx()->port(), options);
}

std::unique_ptr<ws_client> service_stack::connect(std::size_t index, ws_client::options options) {
    return std::make_unique<ws_client>(broker_port(index), options);
}

}  // namespace chat::test
