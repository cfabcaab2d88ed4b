#include "fault_stack.hpp"

#include <unistd.h>

#include <random>
#include <set>
#include <stdexcept>

#include "support/file_util.hpp"
#include "support/free_port.hpp"
#include "support/http_get.hpp"
#include "support/wait.hpp"
#include "support/ws_client.hpp"

namespace chat::faults {

using namespace std::chrono_literals;

fault_stack::fault_stack(const std::filesystem::path& dir, stack_settings settings)
    : dir_(dir), settings_(std::move(settings)) {
    postgres_ = std::make_unique<test::postgres_cluster>(dir_);
    std::string database = "chat_faults_" + std::to_string(::getpid());
    postgres_->create_database(database, true, settings_.bin_dir / "chat");
    database_url_ = postgres_->url_for(database);
    nats_ = std::make_unique<test::nats_server>(dir_);

    const std::string common =
        "nats:\n  url: " + nats_->url() + "\nlog:\n  level: " + settings_.log_level + "\n";
    dispatcher_config_ = dir_ / "dispatcher.yaml";
    test::write_file(dispatcher_config_,
                     "dispatcher:\n  workers: 2\n  batch_max: 500\n  sweep_interval: " +
                         settings_.dispatcher_sweep +
                         "\n  rebalance_interval: " + settings_.rebalance_interval +
                         "\npostgres:\n  url: " + database_url_ + "\n" + common);
    for (int i = 0; i < settings_.brokers; ++i) {
        broker_proc b{"b" + std::to_string(i + 1), test::free_port(),
                      dir_ / ("broker-b" + std::to_string(i + 1) + ".yaml"), nullptr};
        test::write_file(b.config, "broker:\n  id: " + b.id +
                                       "\n  address: 127.0.0.1\n  port: " + std::to_string(b.port) +
                                       "\n  threads: 2\n  web_root: web/dist\n  request_timeout: " +
                                       settings_.request_timeout +
                                       "\n  heartbeat_interval: " + settings_.heartbeat_interval +
                                       "\nping:\n  interval: " + settings_.ping_interval +
                                       "\n  max_wait: " + settings_.ping_max_wait + "\n" + common);
        brokers_.push_back(std::move(b));
    }

    // presence.grace is new: a logic that predates it refuses the key (unknown keys fail
    // start-up). Then the run goes on without it and says so.
    write_logic_config(!settings_.grace.empty());
    logics_.push_back(spawn("chat-logic", logic_config_, "logic-1.log"));
    if (grace_configured_) {
        // A refused config ends the process at once, before it connects anywhere.
        test::wait_until([&] { return !logics_[0]->running(); }, 1500ms);
        if (!logics_[0]->running()) {
            if (logics_[0]->log().find("grace") == std::string::npos)
                throw std::runtime_error("logic-1 did not start\n" + logics_[0]->describe());
            write_logic_config(false);
            logics_[0]->restart();
        }
    }
    for (int i = 1; i < settings_.logics; ++i)
        logics_.push_back(
            spawn("chat-logic", logic_config_, "logic-" + std::to_string(i + 1) + ".log"));
    for (int i = 0; i < settings_.dispatchers; ++i) {
        dispatchers_.push_back(spawn("chat-dispatcher", dispatcher_config_,
                                     "dispatcher-" + std::to_string(i + 1) + ".log"));
    }
    for (auto& b : brokers_) b.process = spawn("chat-broker", b.config, "broker-" + b.id + ".log");

    auto missing = wait_ready(30s);
    if (!missing.empty())
        throw std::runtime_error("the services did not start: " + missing + "\n" + logs());
}

fault_stack::~fault_stack() = default;

void fault_stack::write_logic_config(bool with_grace) {
    grace_configured_ = with_grace;
    logic_config_ = dir_ / "logic.yaml";
    test::write_file(
        logic_config_,
        "logic:\n  workers: " + std::to_string(settings_.logic_workers) +
            "\n  dialogue_batch_max: 64\npresence:\n  broker_timeout: " + settings_.broker_timeout +
            "\n  sweep_interval: " + settings_.presence_sweep + "\n" +
            (with_grace ? "  grace: " + settings_.grace + "\n" : "") +
            "postgres:\n  url: " + database_url_ + "\nnats:\n  url: " + nats_->url() +
            "\nlog:\n  level: " + settings_.log_level + "\n");
}

std::unique_ptr<test::child_process> fault_stack::spawn(const std::string& binary,
                                                        const std::filesystem::path& config,
                                                        const std::string& log_name) {
    auto path = settings_.bin_dir / binary;
    if (::access(path.c_str(), X_OK) != 0)
        throw std::runtime_error(path.string() + " is missing: build the project first");
    test::spawn_options options;
    options.log_file = dir_ / log_name;
    return std::make_unique<test::child_process>(
        std::vector<std::string>{path.string(), "--config", config.string()}, options);
}

std::vector<std::uint16_t> fault_stack::broker_ports() const {
    std::vector<std::uint16_t> ports;
    for (auto& b : brokers_) ports.push_back(b.port);
    return ports;
}

std::vector<fault_stack::named> fault_stack::services() {
    std::vector<named> all;
    for (std::size_t i = 0; i < logics_.size(); ++i)
        all.push_back({"logic-" + std::to_string(i + 1), logics_[i].get()});
    for (std::size_t i = 0; i < dispatchers_.size(); ++i)
        all.push_back({"dispatcher-" + std::to_string(i + 1), dispatchers_[i].get()});
    for (auto& b : brokers_)
        if (b.process) all.push_back({"broker-" + b.id, b.process.get()});
    return all;
}

bool fault_stack::broker_healthy(std::size_t index) const {
    auto response = test::http_get(brokers_.at(index).port, "/healthz", 500ms);
    return response && response->status == 200;
}

// Subjects from shared/bus/subjects.hpp: logic's queue group on chat.cmd.>, the
// dispatchers' wake-up subject, each broker's push subject.
std::string fault_stack::subscriptions_missing() {
    auto subsz = nats_->monitor("/subsz?subs=1&limit=100000");
    if (!subsz.is_object() || !subsz.contains("subscriptions_list"))
        return "nats-server monitoring";
    std::set<int> logic_cids, dispatcher_cids;
    std::set<std::string> push_subjects;
    for (auto& sub : subsz["subscriptions_list"]) {
        auto subject = sub.value("subject", std::string());
        int cid = sub.value("cid", 0);
        if (subject.rfind("chat.cmd.", 0) == 0 &&
            sub.value("qgroup", std::string()) == "chat-logic")
            logic_cids.insert(cid);
        else if (subject.rfind("chat.dispatch.", 0) == 0)
            dispatcher_cids.insert(cid);
        else if (subject.rfind("broker.", 0) == 0)
            push_subjects.insert(subject);
    }
    std::string missing;
    if (logic_cids.size() < logics_.size())
        missing += std::to_string(logics_.size() - logic_cids.size()) + " logic subscriber(s) ";
    if (dispatcher_cids.size() < dispatchers_.size())
        missing += std::to_string(dispatchers_.size() - dispatcher_cids.size()) +
                   " dispatcher subscriber(s) ";
    for (auto& b : brokers_)
        if (!push_subjects.count("broker." + b.id + ".push"))
            missing += "broker." + b.id + ".push ";
    return missing;
}

bool fault_stack::probe(std::size_t index, std::string& last) {
    try {
        test::ws_client client(brokers_.at(index).port);
        auto response = client.request(
            {{"cmd", "RECONNECT"}, {"accountId", 999999999}, {"token", std::string(64, '0')}}, 5s);
        last = response.dump();
        return response.value("code", -1) != 2;
    } catch (const std::exception& e) {
        last = e.what();
        return false;
    }
}

std::string fault_stack::wait_ready(std::chrono::milliseconds timeout) {
    std::string missing;
    test::wait_until(
        [&] {
            missing = dead_services();
            if (!missing.empty()) return false;
            if (!postgres_->running()) {
                missing = "PostgreSQL is not running";
                return false;
            }
            for (std::size_t i = 0; i < brokers_.size(); ++i) {
                if (!broker_healthy(i)) {
                    missing = "broker " + brokers_[i].id + " /healthz";
                    return false;
                }
            }
            missing = subscriptions_missing();
            if (!missing.empty()) {
                missing = "NATS subscriptions: " + missing;
                return false;
            }
            for (std::size_t i = 0; i < brokers_.size(); ++i) {
                std::string last;
                if (!probe(i, last)) {
                    missing = "probe through broker " + brokers_[i].id + ": " + last;
                    return false;
                }
            }
            return true;
        },
        timeout, 100ms);
    return missing;
}

std::string fault_stack::dead_services() {
    std::string dead;
    for (auto& s : services())
        if (!s.process->running()) dead += "NOT RUNNING: " + s.process->describe(20) + "\n";
    return dead;
}

std::string fault_stack::logs(std::size_t lines) {
    std::string text;
    for (auto& s : services()) text += s.process->describe(lines) + "\n";
    text += nats_->process().describe(lines / 2) + "\n";
    text += postgres_->postmaster().describe(lines / 2) + "\n";
    return text;
}

}  // namespace chat::faults
