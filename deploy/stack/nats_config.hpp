#pragma once

#include <string>

#include "deploy/stack/nats.hpp"

namespace chat::stack {

/// The nats-server configuration file for one node: its ports on 127.0.0.1, monitoring
/// (plain HTTP, no authentication: chat-stack's readiness checks read it), and when
/// asked the users with their permissions, TLS for clients and routes, and the cluster
/// with authenticated routes.
std::string nats_server_config(const nats_options& options);

}  // namespace chat::stack
