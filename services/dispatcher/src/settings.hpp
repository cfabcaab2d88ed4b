#pragma once

#include <chrono>
#include <string>

#include "shared/config/common_settings.hpp"

namespace chat::dispatcher {

struct dispatcher_settings {
    int workers = 2;
    int batch_max = 500;
    std::chrono::milliseconds sweep_interval{1000};
    std::chrono::milliseconds rebalance_interval{1000};
    config::nats_settings nats;
    config::postgres_settings postgres;
    config::log_settings log;
    config::status_http_settings http;  // http.address / http.port: /metrics, /healthz, /readyz
};

/// Reads deploy/config/dispatcher.yaml-shaped files; unknown keys are an error.
dispatcher_settings load_dispatcher_settings(const config::source& from);

}  // namespace chat::dispatcher
