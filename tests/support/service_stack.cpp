#include "support/service_stack.hpp"

#include <cstdlib>
#include <set>
#include <stdexcept>

#include "support/diagnostics.hpp"
#include "support/file_util.hpp"
#include "support/free_port.hpp"
#include "support/http_get.hpp"
#include "support/paths.hpp"
#include "support/wait.hpp"

namespace chat::test {
service_stack::service_stack(stack_options options)
    : options_(std::move(options)), dir_("chat-e2e") {
    if (const char* level = std::getenv("CHAT_TEST_LOG_LEVEL");
        level != nullptr && *level != '\0') {
        options_.log_level = level;
    }
    nats_ = std::make_unique<nats_server>(dir_.path());
    db_ = std::make_unique<scratch_database>(dir_.path());
    for (int i = 0; i < options_.brokers; ++i) {
        std::string id = "b" + std::to_string(i + 1);
        brokers_.push_back({id, free_port(), dir_ / ("broker-" + id + ".yaml"), nullptr});
    }
    write_configs();

    auto start_brokers = [&] {
        for (auto& broker : brokers_) {
            broker.process = start("chat-broker", broker.config, "broker-" + broker.id + ".log");
        }
    };
    // Normally logic and dispatchers first, so the brokers find someone to talk to at once.
    if (options_.brokers_first) start_brokers();
    for (int i = 0; i < options_.logics; ++i) {
        logics_.push_back(
            start("chat-logic", logic_config_, "logic-" + std::to_string(i + 1) + ".log"));
    }
    for (int i = 0; i < options_.dispatchers; ++i) {
        dispatchers_.push_back(start("chat-dispatcher", dispatcher_config_,
                                     "dispatcher-" + std::to_string(i + 1) + ".log"));
    }
    if (!options_.brokers_first) start_brokers();
    for (std::size_t i = 0; i < brokers_.size(); ++i) wait_broker_healthy(i);
    wait_services_ready();
    set_failure_context([this] { return logs(); });
}

service_stack::~service_stack() { clear_failure_context(); }

std::unique_ptr<child_process> service_stack::start(const std::string& binary_name,
                                                    const std::filesystem::path& config,
                                                    const std::string& log_name) {
    spawn_options options;
    options.log_file = dir_ / log_name;
    return std::make_unique<child_process>(
        std::vector<std::string>{binary(binary_name).string(), "--config", config.string()},
        options);
}

void service_stack::write_configs() {
    const auto& o = options_;
    std::string nats = "nats:\n  url: " + nats_->url() + "\n";
    std::string postgres = "postgres:\n  url: " + db_->url() + "\n";
    std::string log = "log:\n  level: " + o.log_level + "\n";

    logic_config_ = dir_ / "logic.yaml";
    write_file(logic_config_,
               "logic:\n  workers: " + std::to_string(o.logic_workers) +
                   "\n  dialogue_batch_max: " + std::to_string(o.dialogue_batch_max) +
                   "\npresence:\n  broker_timeout: " + o.broker_timeout +
                   "\n  sweep_interval: " + o.presence_sweep + "\n  grace: " + o.grace + "\n  token_ttl: " + o.token_ttl + "\n" + nats +
                   postgres + log);

    dispatcher_config_ = dir_ / "dispatcher.yaml";
    write_file(dispatcher_config_,
               "dispatcher:\n  workers: " + std::to_string(o.dispatcher_workers) +
                   "\n  batch_max: " + std::to_string(o.dispatcher_batch_max) +
                   "\n  sweep_interval: " + o.dispatcher_sweep + "\n  rebalance_interval: " +
                   o.rebalance_interval + "\n" + nats + postgres + log);

    for (auto& broker : brokers_) {
        write_file(broker.config,
                   "broker:\n  id: " + broker.id +
                       "\n  address: 127.0.0.1\n  port: " + std::to_string(broker.port) +
                       "\n  threads: " + std::to_string(o.broker_threads) +
                       "\n  web_root: web/dist\n  request_timeout: " + o.request_timeout +
                       "\n  heartbeat_interval: " + o.heartbeat_interval +
                       "\nlimits:\n  max_frame_bytes: " + std::to_string(o.max_frame_bytes) + "\n" +
                       o.broker_limits + "ping:\n  interval: " + o.ping_interval +
                       "\n  max_wait: " + o.ping_max_wait + "\n" + o.broker_extra + nats + log);
    }
}

bool service_stack::broker_healthy(std::size_t index) const {
    auto response = http_get(brokers_.at(index).port, "/healthz", std::chrono::milliseconds(500));
    return response && response->status == 200;
}

void service_stack::wait_broker_healthy(std::size_t index) {
    auto& broker = brokers_.at(index);
    bool ok = wait_until(
        [&] {
            if (!dead_services().empty()) return true;  // fail at once, below
            return broker_healthy(index);
        },
        std::chrono::seconds(20), std::chrono::milliseconds(50));
    if (!ok || !dead_services().empty()) {
        throw std::runtime_error("broker " + broker.id + " on port " + std::to_string(broker.port) +
                                 " did not answer GET /healthz with 200\n" + dead_services() +
                                 logs());
    }
}

// /healthz says a broker reached NATS, not that anyone listens behind it. So wait until
// nats-server shows every process's subscriptions (subjects from shared/bus/subjects.hpp:
// logic's queue group on chat.cmd.>, the dispatchers' wake-up subject, each broker's push
// subject), then send each broker a request only logic can answer: RECONNECT with a token
// that cannot match gets 9 and changes nothing, while "nobody answered" comes back as 2.
void service_stack::wait_services_ready() {
    std::string seen;
    bool subscribed = wait_until(
        [&] {
            if (!dead_services().empty()) return true;
            auto subsz = nats_->monitor("/subsz?subs=1&limit=100000");
            if (!subsz.is_object() || !subsz.contains("subscriptions_list")) return false;
            std::set<int> logic_cids, dispatcher_cids;
            std::set<std::string> push_subjects;
            for (auto& sub : subsz["subscriptions_list"]) {
                auto subject = sub.value("subject", std::string());
                int cid = sub.value("cid", 0);
                if (subject.rfind("chat.cmd.", 0) == 0 &&
                    sub.value("qgroup", std::string()) == "chat-logic") {
                    logic_cids.insert(cid);
                } else if (subject.rfind("chat.dispatch.", 0) == 0) {
                    dispatcher_cids.insert(cid);
                } else if (subject.rfind("broker.", 0) == 0) {
                    push_subjects.insert(subject);
                }
            }
            std::size_t brokers_subscribed = 0;
            for (auto& broker : brokers_) {
                brokers_subscribed += push_subjects.count("broker." + broker.id + ".push");
            }
            seen = std::to_string(logic_cids.size()) + " logic, " +
                   std::to_string(dispatcher_cids.size()) + " dispatcher and " +
                   std::to_string(brokers_subscribed) + " broker subscriber(s)";
            return logic_cids.size() >= logics_.size() &&
                   dispatcher_cids.size() >= dispatchers_.size() &&
                   brokers_subscribed == brokers_.size();
        },
        std::chrono::seconds(20), std::chrono::milliseconds(50));
    if (!subscribed || !dead_services().empty()) {
        throw std::runtime_error("services did not subscribe on NATS in time (saw " + seen + ")\n" +
                                 dead_services() + logs());
    }

    for (std::size_t i = 0; i < brokers_.size(); ++i) probe_broker(i);
}

void service_stack::probe_broker(std::size_t index) {
    std::string last;
    bool answered = wait_until(
        [&] {
            if (!dead_services().empty()) return true;
            try {
                auto client = connect(index);
                auto response = client->request({{"cmd", "RECONNECT"},
                                                 {"accountId", 999999999},
                                                 {"token", std::string(64, '0')}},
                                                std::chrono::seconds(6));
                last = response.dump();
                return response.value("code", -1) != 2;
            } catch (const std::exception& e) {
                last = e.what();
                return false;
            }
        },
        std::chrono::seconds(20), std::chrono::milliseconds(100));
    if (!answered || !dead_services().empty()) {
        throw std::runtime_error("logic did not answer a probe through broker " +
                                 brokers_[index].id + " (last: " + last + ")\n" + dead_services() +
                                 logs());
    }
}

void service_stack::restart_broker(std::size_t index) {
    auto& broker = brokers_.at(index);
    if (broker.process->running())
        throw std::logic_error("restart_broker: " + broker.id + " still runs");
    // The old process's listening socket is gone with it; the port is free again.
    broker.process->restart();
    wait_broker_healthy(index);
    bool subscribed = wait_until(
        [&] {
            auto subsz = nats_->monitor("/subsz?subs=1&limit=100000");
            if (!subsz.is_object() || !subsz.contains("subscriptions_list")) return false;
            for (auto& sub : subsz["subscriptions_list"]) {
                if (sub.value("subject", std::string()) == "broker." + broker.id + ".push")
                    return true;
            }
            return false;
        },
        std::chrono::seconds(10), std::chrono::milliseconds(50));
    if (!subscribed) {
        throw std::runtime_error("restarted broker " + broker.id +
                                 " did not subscribe to its push subject\n" + logs());
    }
    probe_broker(index);
}

std::unique_ptr<ws_client> service_stack::connect(std::size_t index) {
    return std::make_unique<ws_client>(broker_port(index));
}

std::unique_ptr<ws_client> service_stack::connect(std::size_t index, ws_client::options options) {
    return std::make_unique<ws_client>(broker_port(index), options);
}

std::vector<child_process*> service_stack::all_processes() {
    std::vector<child_process*> all;
    for (auto& p : logics_) all.push_back(p.get());
    for (auto& p : dispatchers_) all.push_back(p.get());
    for (auto& b : brokers_) {
        if (b.process) all.push_back(b.process.get());
    }
    return all;
}

std::string service_stack::dead_services() {
    std::string dead;
    for (auto* process : all_processes()) {
        if (!process->running()) dead += "NOT RUNNING: " + process->describe() + "\n";
    }
    return dead;
}

std::string service_stack::logs(std::size_t lines) {
    std::string text;
    for (auto* process : all_processes()) text += process->describe(lines) + "\n";
    text += nats_->process().describe(lines / 2) + "\n";
    return text;
}

}  // namespace chat::test
