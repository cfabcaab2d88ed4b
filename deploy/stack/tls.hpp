#pragma once

#include <filesystem>

namespace chat::stack {

/// The PEM files of a private TLS setup: a CA, and a certificate it signed with its key.
struct tls_files {
    std::filesystem::path ca_file;
    std::filesystem::path cert_file;
    std::filesystem::path key_file;
    bool empty() const { return cert_file.empty(); }
};

/// A self-signed CA (`ca.pem`) and a server certificate it signed (`server.pem`, key
/// `server-key.pem`) for SAN IP:127.0.0.1 and DNS:localhost, made in `dir` (0700, keys
/// 0600) with the `openssl` command. The certificate serves routes too (nats-server
/// verifies both ends of a route), so it is good for server and client authentication.
/// Files an earlier run made are reused, so clients that trust the CA keep working.
/// Throws when openssl is missing or fails.
tls_files make_server_certificate(const std::filesystem::path& dir);

}  // namespace chat::stack
