#pragma once

#include <string>
#include <vector>

#include "shared/config/yaml_reader.hpp"

namespace chat::config {

/// The `nats.tls:` section: TLS to NATS, on when `ca_file` is set.
struct nats_tls_settings {
    /// PEM file of the CA that signed the servers' certificates; empty: plain TCP.
    std::string ca_file;
    /// The name the servers' certificates must carry; empty: the host of the URLs
    /// (they must then all name the same host: cnats checks one name for every server).
    std::string server_name;
};

/// The `nats:` section every service has.
struct nats_settings {
    /// One URL or a comma-separated list (every node of a cluster).
    std::string url = "nats://127.0.0.1:4222";
    /// Empty: connect without authentication.
    std::string user;
    /// The file the password was read from (its first line); kept out of argv and of
    /// the main config. Never logged, nor is `password`.
    std::string password_file;
    std::string password;
    nats_tls_settings tls;
};

/// The `postgres:` section of logic and the dispatcher.
struct postgres_settings {
    std::string url;
};

/// The `http:` section of logic and the dispatcher: their status listener (/metrics,
/// /healthz, /readyz). Loopback by default: the metrics are for the operators' Prometheus.
struct status_http_settings {
    std::string address = "127.0.0.1";
    int port = 0;  // 0: no listener
};

/// The `log:` section.
struct log_settings {
    std::string level = "info";
    std::string format = "text";  // text, or json: one JSON object per line for log shippers
};

/// Reads the section and the password file it names; throws config_error when the
/// credentials or TLS settings cannot work.
nats_settings read_nats(section& root);
postgres_settings read_postgres(section& root);
log_settings read_log(section& root);
status_http_settings read_status_http(section& root);

/// The URLs of a `nats.url` list, trimmed; throws config_error when there is none or
/// one has no host.
std::vector<std::string> split_nats_urls(const std::string& list);

/// The host of a NATS URL ("nats://user:pw@host:4222" → "host").
std::string nats_url_host(const std::string& url);

/// The name a TLS server's certificate must carry: `tls.server_name`, else the one host
/// every URL names; throws config_error when the URLs name several hosts.
std::string tls_server_name(const nats_settings& nats);

/// The first line of a secret's file (the `key` setting names it: "nats.password_file",
/// "admin.token_file"); throws config_error when it cannot be read or the line is empty.
std::string read_secret_file(const std::string& path, const std::string& key = "nats.password_file");

}  // namespace chat::config
