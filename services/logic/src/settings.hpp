#pragma once

#include <chrono>
#include <string>

#include "services/logic/src/match_policy.hpp"
#include "services/logic/src/presence_policy.hpp"
#include "services/logic/src/retention_policy.hpp"
#include "shared/config/common_settings.hpp"

namespace chat::logic {

/// admin.*: the moderation API and page (docs/operations.md, "Moderation").
struct admin_settings {
    std::string address = "127.0.0.1";  // loopback unless an operator says otherwise
    int port = 0;                       // 0: no admin listener
    std::string token_file;             // its first line is the token (required with a port)
    std::string token;                  // read from token_file at load
    std::string web_root = "web/dist";  // the built web client: moderation.html and its assets
};

struct logic_settings {
    int workers = 4;
    int dialogue_batch_max = 64;
    // DIALOGUE transactions in flight at once: while they commit, new DIALOGUEs queue up
    // and go together in the next one (few committers, big groups, little CPU per message).
    int dialogue_transactions = 2;
    // MATCH transactions in flight at once, likewise (pairings contend for the same rows).
    int match_transactions = 2;
    std::chrono::milliseconds broker_timeout{5000};
    std::chrono::milliseconds sweep_interval{1000};
    presence_policy presence;  // presence.grace and presence.token_ttl
    match_policy matching;     // matching.* and moderation.*
    retention_policy retention;  // retention.*
    config::nats_settings nats;
    config::postgres_settings postgres;
    config::log_settings log;
    config::status_http_settings http;  // http.address / http.port: /metrics, /healthz, /readyz
    admin_settings admin;
};

/// Reads deploy/config/logic.yaml-shaped files; unknown keys are an error, and so are
/// retention windows shorter than what the rules read back (docs/operations.md, "Retention").
logic_settings load_logic_settings(const config::source& from);

}  // namespace chat::logic
