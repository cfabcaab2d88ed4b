#include "deploy/stack/nats_config.hpp"

#include <stdexcept>
#include <vector>

namespace chat::stack {
namespace {

// A string in the config's syntax: always double-quoted, so paths and subjects with
// '>' or '*' read as strings.
std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (const auto& item : items) out += (out.size() > 1 ? ", " : "") + quoted(item);
    return out + "]";
}

std::string address(std::uint16_t port) { return quoted("127.0.0.1:" + std::to_string(port)); }

// An allow list; an empty one would mean "no restriction", so nothing allowed is a deny-all.
std::string allow(const std::vector<std::string>& subjects) {
    return subjects.empty() ? "{ deny: [\">\"] }" : "{ allow: " + list(subjects) + " }";
}

// A slow TLS handshake or login on a busy 2-core machine must not cost a connection
// (the defaults are 0.5 s and 2 s).
constexpr const char* k_handshake_seconds = "5";

std::string tls_block(const tls_files& tls, const std::string& indent) {
    return indent + "tls {\n" + indent + "  cert_file: " + quoted(tls.cert_file.string()) + "\n" +
           indent + "  key_file: " + quoted(tls.key_file.string()) + "\n" + indent +
           "  ca_file: " + quoted(tls.ca_file.string()) + "\n" + indent +
           "  timeout: " + k_handshake_seconds + "\n" + indent + "}\n";
}

std::string users_block(const std::vector<nats_user>& users) {
    // Plain passwords, not bcrypt: the same secrets sit beside this file in
    // secrets/nats-<user>.password, with the same owner and mode 0600, for the services
    // to read, so a hash here would hide nothing from whoever can read this file; and
    // nats-server would pay a bcrypt check on every (re)connect of every client.
    std::string out =
        "authorization {\n  timeout: " + std::string(k_handshake_seconds) + "\n  users: [\n";
    for (const auto& user : users) {
        out += "    {\n      user: " + quoted(user.name) +
               "\n      password: " + quoted(user.password) + "\n" + "      permissions: {\n" +
               "        publish: " + allow(user.publish) + "\n" +
               "        subscribe: " + allow(user.subscribe) + "\n" +
               (user.allow_responses ? "        allow_responses: true\n" : "") + "      }\n    }\n";
    }
    return out + "  ]\n}\n";
}

}  // namespace

std::string nats_server_config(const nats_options& o) {
    std::string out =
        "# Written by chat-stack (deploy/stack/nats_config.cpp) at every start of this node;\n"
        "# it holds passwords when the bus is locked, so it is readable by its owner only.\n";
    out += "server_name: " + quoted(o.name) + "\n";
    out += "listen: " + address(o.port) + "\n";
    out += "http: " + address(o.monitor_port) + "\n";
    if (!o.tls.empty()) out += tls_block(o.tls, "");
    if (!o.users.empty()) out += users_block(o.users);
    if (o.cluster_name.empty()) return out;

    const bool locked = !o.users.empty();
    if (locked && o.route_user.password.empty())
        throw std::invalid_argument("a locked cluster needs a route user with a password");
    out += "cluster {\n  name: " + quoted(o.cluster_name) +
           "\n  listen: " + address(o.cluster_port) + "\n";
    if (locked)
        out += "  authorization {\n    user: " + quoted(o.route_user.name) +
               "\n    password: " + quoted(o.route_user.password) +
               "\n    timeout: " + k_handshake_seconds + "\n  }\n";
    if (!o.tls.empty()) out += tls_block(o.tls, "  ");
    // Full mesh: every member names every other one, logging in as the route user.
    const std::string login = locked ? o.route_user.name + ":" + o.route_user.password + "@" : "";
    std::vector<std::string> routes;
    for (auto port : o.routes)
        routes.push_back("nats://" + login + "127.0.0.1:" + std::to_string(port));
    if (!routes.empty()) out += "  routes: " + list(routes) + "\n";
    return out + "}\n";
}

}  // namespace chat::stack
