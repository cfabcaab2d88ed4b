#include "support/nats_server.hpp"

#include <stdexcept>

#include "support/free_port.hpp"
#include "support/http_get.hpp"
#include "support/paths.hpp"
#include "support/wait.hpp"

namespace chat::test {

nats_server::nats_server(const std::filesystem::path& log_dir)
    : log_file_(log_dir / "nats.log"), port_(free_port()), monitor_port_(free_port()) {
    start();
}

nats_server::~nats_server() { stop(); }

void nats_server::start() {
    auto program = find_program("nats-server");
    if (program.empty()) throw std::runtime_error("nats-server is not installed (not on PATH)");
    spawn_options options;
    options.log_file = log_file_;
    process_ = std::make_unique<child_process>(
        std::vector<std::string>{program.string(), "-a", "127.0.0.1", "-p", std::to_string(port_),
                                 "-m", std::to_string(monitor_port_)},
        options);
    wait_ready();
}

void nats_server::wait_ready() {
    bool ready = wait_until(
        [&] {
            if (!process_->running()) return true;  // reported below
            auto health = http_get(monitor_port_, "/healthz", std::chrono::milliseconds(500));
            return health && health->status == 200 && port_accepts(port_);
        },
        std::chrono::seconds(10));
    if (!ready || !process_->running()) {
        throw std::runtime_error("nats-server did not become ready on port " +
                                 std::to_string(port_) + "\n" + process_->describe());
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
    bool started = false;
    for (int attempt = 0; attempt < 20 && !started; ++attempt) {
        try {
            start();
            started = true;
        } catch (const std::exception&) {
            if (attempt == 19) throw;
            process_->kill9();
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }
}

nlohmann::json nats_server::monitor(const std::string& target) const {
    auto response = http_get(monitor_port_, target);
    if (!response || response->status != 200) return nullptr;
    return nlohmann::json::parse(response->body, nullptr, false);
}

}  // namespace chat::test
