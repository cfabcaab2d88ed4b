#include "shared/log/logger.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace chat::log {

std::shared_ptr<spdlog::logger> make_service_logger(const std::string& name, const std::string& level) {
    auto logger = spdlog::get(name);
    if (!logger) logger = spdlog::stderr_color_mt(name);
    logger->set_level(spdlog::level::from_str(level));
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
    return logger;
}

}  // namespace chat::log
