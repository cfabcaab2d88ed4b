#include "shared/config/common_settings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

namespace chat::config {
namespace {

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

nats_tls_settings read_nats_tls(section& nats) {
    auto s = nats.child("tls");
    nats_tls_settings out;
    out.ca_file = s.get_string("ca_file", out.ca_file);
    out.server_name = s.get_string("server_name", out.server_name);
    s.finish();
    return out;
}

}  // namespace

std::vector<std::string> split_nats_urls(const std::string& list) {
    std::vector<std::string> urls;
    std::size_t start = 0;
    while (start <= list.size()) {
        const auto comma = std::min(list.find(',', start), list.size());
        if (auto url = trim(list.substr(start, comma - start)); !url.empty()) {
            if (nats_url_host(url).empty()) throw config_error(fmt::format("nats.url: '{}' names no host", url));
            urls.push_back(std::move(url));
        }
        start = comma + 1;
    }
    if (urls.empty()) throw config_error("nats.url names no server");
    return urls;
}

std::string nats_url_host(const std::string& url) {
    auto rest = url;
    if (const auto scheme = rest.find("://"); scheme != std::string::npos) rest = rest.substr(scheme + 3);
    if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
    if (const auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
    if (!rest.empty() && rest.front() == '[') return rest.substr(1, rest.find(']') - 1);  // [::1]:4222
    return rest.substr(0, rest.find(':'));
}

std::string read_secret_file(const std::string& path, const std::string& key) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) throw config_error(fmt::format("{} '{}' cannot be read", key, path));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) throw config_error(fmt::format("{} '{}' has an empty first line", key, path));
    return line;
}

nats_settings read_nats(section& root) {
    auto s = root.child("nats");
    nats_settings out;
    out.url = s.get_string("url", out.url);
    out.user = s.get_string("user", out.user);
    out.password_file = s.get_string("password_file", out.password_file);
    out.tls = read_nats_tls(s);
    s.finish();

    const auto urls = split_nats_urls(out.url);
    if (!out.user.empty()) {
        if (out.password_file.empty())
            throw config_error(fmt::format("nats.user '{}' needs nats.password_file (a file whose first line is "
                                           "the password)",
                                           out.user));
        out.password = read_secret_file(out.password_file);
    } else if (!out.password_file.empty()) {
        throw config_error("nats.password_file is set but nats.user is empty");
    }
    for (const auto& url : urls)
        if (url.rfind("tls://", 0) == 0 && out.tls.ca_file.empty())
            throw config_error(fmt::format("nats.url names {}: TLS needs nats.tls.ca_file", url));
    if (!out.tls.ca_file.empty()) {
        if (!std::ifstream(out.tls.ca_file))
            throw config_error(fmt::format("nats.tls.ca_file '{}' cannot be read", out.tls.ca_file));
        tls_server_name(out);  // throws when the URLs name different hosts and no server_name
    }
    return out;
}

std::string tls_server_name(const nats_settings& nats) {
    if (!nats.tls.server_name.empty()) return nats.tls.server_name;
    std::string host;
    for (const auto& url : split_nats_urls(nats.url)) {
        const auto h = nats_url_host(url);
        if (!host.empty() && h != host)
            throw config_error(fmt::format("nats.url names several hosts ({}, {}): set nats.tls.server_name, the "
                                           "name every server's certificate carries",
                                           host, h));
        host = h;
    }
    return host;
}

postgres_settings read_postgres(section& root) {
    auto s = root.child("postgres");
    postgres_settings out;
    out.url = s.require_string("url");
    s.finish();
    return out;
}

status_http_settings read_status_http(section& root) {
    auto s = root.child("http");
    status_http_settings out;
    out.address = s.get_string("address", out.address);
    out.port = s.get_int("port", out.port, 0, 65535);
    s.finish();
    return out;
}

log_settings read_log(section& root) {
    auto s = root.child("log");
    log_settings out;
    out.level = s.get_string("level", out.level);
    static const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    bool known = false;
    for (auto* l : levels) known |= out.level == l;
    if (!known) throw config_error(fmt::format("log.level '{}' is not one of trace..off", out.level));
    out.format = s.get_string("format", out.format);
    if (out.format != "text" && out.format != "json")
        throw config_error(fmt::format("log.format '{}' is neither text nor json", out.format));
    s.finish();
    return out;
}

}  // namespace chat::config
