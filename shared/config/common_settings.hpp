#pragma once

#include <string>

#include "shared/config/yaml_reader.hpp"

namespace chat::config {

/// The `nats:` section every service has.
struct nats_settings {
    std::string url = "nats://127.0.0.1:4222";
};

/// The `postgres:` section of logic and the dispatcher.
struct postgres_settings {
    std::string url;
};

/// The `log:` section.
struct log_settings {
    std::string level = "info";
};

nats_settings read_nats(section& root);
postgres_settings read_postgres(section& root);
log_settings read_log(section& root);

}  // namespace chat::config
