#include "shared/db/connect.hpp"

#include <chrono>
#include <thread>

#include "shared/util/backoff.hpp"

namespace chat::db {

std::unique_ptr<pqxx::connection> connect_with_retry(const std::string& url, const std::atomic<bool>& stop,
                                                     spdlog::logger& log) {
    constexpr util::backoff retry_delays(std::chrono::milliseconds(100), std::chrono::milliseconds(2000));
    int failures = 0;
    while (!stop) {
        try {
            auto conn = std::make_unique<pqxx::connection>(url);
            if (failures > 0) log.info("connected to PostgreSQL after {} failed attempts", failures);
            return conn;
        } catch (const std::exception& e) {
            // Log the first failure and then every tenth, so a long outage does not flood the log.
            if (failures++ % 10 == 0)
                log.warn("cannot connect to PostgreSQL ({}); retrying with backoff", e.what());
        }
        const auto delay = retry_delays.delay(failures - 1);
        for (auto waited = std::chrono::milliseconds(0); waited < delay && !stop; waited += std::chrono::milliseconds(50))
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return nullptr;
}

}  // namespace chat::db
