#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace chat::log {

/// Creates the service's one named logger (to stderr), makes it the default, and sets
/// its level ("trace".."off").
std::shared_ptr<spdlog::logger> make_service_logger(const std::string& name, const std::string& level);

}  // namespace chat::log
