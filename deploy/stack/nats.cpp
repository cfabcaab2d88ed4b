#include "deploy/stack/nats.hpp"

#include <stdexcept>
#include <thread>

#include "deploy/stack/files.hpp"
#include "deploy/stack/nats_config.hpp"
#include "deploy/stack/net.hpp"
#include "deploy/stack/wait.hpp"

namespace chat::stack {

nats_server::nats_server(nats_options options) : options_(std::move(options)) {
    if (options_.port == 0) options_.port = free_port();
    if (options_.monitor_port == 0) options_.monitor_port = free_port();
    if (!options_.cluster_name.empty() && options_.cluster_port == 0) options_.cluster_port = free_port();
    log_file_ = options_.dir / (options_.name + ".log");
    tls_ = !options_.tls.empty();
    start();
}

namespace {

nats_options single_node(const std::filesystem::path& log_dir) {
    nats_options options;
    options.dir = log_dir;
    return options;
}

}  // namespace

nats_server::nats_server(const std::filesystem::path& log_dir) : nats_server(single_node(log_dir)) {}

nats_server::nats_server(const nlohmann::json& state, bool detached) {
    options_.name = state.at("name").get<std::string>();
    options_.port = state.at("port").get<std::uint16_t>();
    options_.monitor_port = state.at("monitor_port").get<std::uint16_t>();
    options_.cluster_port = state.value("cluster_port", 0);
    options_.detached = detached;
    tls_ = state.value("tls", false);
    log_file_ = state.at("log").get<std::string>();
    spawn_options options;
    options.log_file = log_file_;
    options.detached = detached;
    process_ = std::make_unique<child_process>(
        state.at("argv").get<std::vector<std::string>>(), options,
        process_id{state.at("pid").get<pid_t>(), state.value("start_time", 0ULL)});
}

nats_server::~nats_server() {
    if (process_ && !process_->released()) stop();
}

void nats_server::start() {
    auto program = find_program("nats-server");
    if (program.empty()) throw std::runtime_error("nats-server is not installed (not on PATH)");
    // A file, not flags: users, permissions and TLS have no flags. Written at every start;
    // a restart (and a detached system's `chat-stack start`) reads it again.
    const auto config = options_.dir / (options_.name + ".conf");
    write_private_file(config, nats_server_config(options_));
    std::vector<std::string> argv{program.string(), "-c", config.string()};
    spawn_options options;
    options.log_file = log_file_;
    options.detached = options_.detached;
    process_ = std::make_unique<child_process>(std::move(argv), options);
    wait_ready();
}

void nats_server::wait_ready() {
    bool ready = wait_until(
        [&] {
            if (!process_->running()) return true;  // reported below
            auto health = http_get(options_.monitor_port, "/healthz", std::chrono::milliseconds(500));
            return health && health->status == 200 && port_accepts(options_.port);
        },
        std::chrono::seconds(10));
    if (!ready || !process_->running()) {
        throw std::runtime_error("nats-server " + options_.name + " did not become ready on port " +
                                 std::to_string(options_.port) + "\n" + process_->describe());
    }
}

void nats_server::stop() {
    if (process_) process_->stop();
}

void nats_server::kill9() {
    if (process_) process_->kill9();
}

void nats_server::restart() {
    stop();
    // The ports were ours a moment ago; after SIGKILL the kernel frees them at once
    // (nats-server sets SO_REUSEADDR), so the same URL works for the services again.
    for (int attempt = 0;; ++attempt) {
        try {
            if (process_->argv().empty()) {
                start();
            } else {
                process_->restart();
                wait_ready();
            }
            return;
        } catch (const std::exception&) {
            if (attempt == 19) throw;
            process_->kill9();
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }
}

nlohmann::json nats_server::monitor(const std::string& target) const {
    auto response = http_get(options_.monitor_port, target);
    if (!response || response->status != 200) return nullptr;
    return nlohmann::json::parse(response->body, nullptr, false);
}

int nats_server::routes() const {
    auto routez = monitor("/routez");
    return routez.is_object() ? routez.value("num_routes", 0) : 0;
}

nlohmann::json nats_server::to_json() const {
    return {{"name", options_.name},
            {"url", url()},
            {"port", options_.port},
            {"monitor_port", options_.monitor_port},
            {"cluster_port", options_.cluster_port},
            {"tls", tls_},
            {"pid", process_->pid()},
            {"start_time", process_->id().start_time},
            {"log", log_file_.string()},
            {"argv", process_->argv()}};
}

}  // namespace chat::stack
