#include "services/broker/src/client_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace chat::broker {

namespace {

// The longest spelling of an IPv6 address ("ffff:...:255.255.255.255") is 45 characters.
constexpr std::size_t k_max_address_text = 45;

constexpr std::array<std::uint8_t, 12> k_v4_mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_v4_mapped(const std::array<std::uint8_t, 16>& bytes) {
    return std::equal(k_v4_mapped_prefix.begin(), k_v4_mapped_prefix.end(), bytes.begin());
}

std::string_view trim(std::string_view s) {
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<ip_address> ip_address::parse(std::string_view text) {
    // inet_pton reads a C string: a NUL inside would cut the text short unseen.
    if (text.empty() || text.size() > k_max_address_text || text.find('\0') != std::string_view::npos)
        return std::nullopt;
    const std::string c_text(text);
    ip_address a;
    if (text.find(':') == std::string_view::npos) {
        if (::inet_pton(AF_INET, c_text.c_str(), a.bytes.data()) != 1) return std::nullopt;
        return a;
    }
    if (::inet_pton(AF_INET6, c_text.c_str(), a.bytes.data()) != 1) return std::nullopt;
    if (is_v4_mapped(a.bytes)) {
        std::copy(a.bytes.begin() + 12, a.bytes.end(), a.bytes.begin());
        std::fill(a.bytes.begin() + 4, a.bytes.end(), 0);
        return a;
    }
    a.v4 = false;
    return a;
}

std::string ip_address::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(v4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof text);
    return text;
}

std::optional<ip_network> ip_network::parse(std::string_view text) {
    const auto slash = text.find('/');
    const auto address_text = text.substr(0, slash);
    auto base = ip_address::parse(address_text);
    if (!base) return std::nullopt;
    const bool mapped = base->v4 && address_text.find(':') != std::string_view::npos;
    const int width = base->v4 && !mapped ? 32 : 128;
    int prefix = width;
    if (slash != std::string_view::npos) {
        const auto bits = text.substr(slash + 1);
        const auto* end = bits.data() + bits.size();
        if (bits.empty() || bits.front() == '-') return std::nullopt;
        const auto [ptr, ec] = std::from_chars(bits.data(), end, prefix);
        if (ec != std::errc() || ptr != end || prefix > width) return std::nullopt;
    }
    if (mapped) {
        // ::ffff:10.0.0.0/104 is 10.0.0.0/8; a mapped range wider than the mapped space is no IPv4 range.
        if (prefix < 96) return std::nullopt;
        prefix -= 96;
    }
    return ip_network{*base, prefix};
}

bool ip_network::contains(const ip_address& address) const {
    if (address.v4 != base.v4) return false;
    const int whole = prefix / 8;
    if (!std::equal(base.bytes.begin(), base.bytes.begin() + whole, address.bytes.begin())) return false;
    const int rest = prefix % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    const auto at = static_cast<std::size_t>(whole);
    return (base.bytes[at] & mask) == (address.bytes[at] & mask);
}

trusted_proxies::trusted_proxies(const std::vector<std::string>& entries) {
    for (const auto& entry : entries) {
        auto network = ip_network::parse(entry);
        if (!network) throw std::invalid_argument("'" + entry + "' is not an IP address or a CIDR range");
        networks_.push_back(*network);
    }
}

bool trusted_proxies::trusts(const ip_address& address) const {
    return std::any_of(networks_.begin(), networks_.end(), [&](const ip_network& n) { return n.contains(address); });
}

std::string trusted_proxies::client_address(std::string_view peer_text, std::string_view forwarded_for) const {
    const auto peer = ip_address::parse(peer_text);
    if (!peer) return std::string(peer_text);  // not from a socket we know; use it as it is
    if (!trusts(*peer) || trim(forwarded_for).empty()) return peer->to_string();
    // From the right: each trusted proxy appended the address it was connected from.
    ip_address client = *peer;
    std::string_view rest = forwarded_for;
    while (true) {
        const auto comma = rest.rfind(',');
        const auto hop = ip_address::parse(trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1)));
        if (!hop) return peer->to_string();  // garbage where a trusted proxy wrote: believe none of it
        client = *hop;
        if (!trusts(client) || comma == std::string_view::npos) return client.to_string();
        rest = rest.substr(0, comma);
    }
}

}  // namespace chat::broker
