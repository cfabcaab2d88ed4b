#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat::broker {

/// An IPv4 or IPv6 address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, how a
/// dual-stack socket reports an IPv4 peer) is that IPv4 address, so one person has one
/// spelling and one rate-limit bucket.
struct ip_address {
    std::array<std::uint8_t, 16> bytes{};  // IPv4: the first four
    bool v4 = true;

    /// nullopt unless `text` is exactly one address: no port, brackets, zone or spaces.
    static std::optional<ip_address> parse(std::string_view text);
    /// The canonical spelling (inet_ntop's): the key of the per-address limits.
    std::string to_string() const;
    bool operator==(const ip_address&) const = default;
};

/// A range in CIDR notation ("10.0.0.0/8", "fd00::/8"); a bare address is a range of one.
struct ip_network {
    ip_address base;
    int prefix = 32;

    /// nullopt unless `text` is an address, optionally followed by "/bits" within its
    /// family's width. Host bits below the prefix are ignored ("10.1.2.3/8" is 10/8).
    static std::optional<ip_network> parse(std::string_view text);
    bool contains(const ip_address& address) const;
};

/// Whom the broker believes about a client's address (`http.trusted_proxies`). A proxy
/// in front of the broker (nginx) appends the address it saw to X-Forwarded-For; what
/// the client itself put there can be any lie. So the header counts only when the TCP
/// peer is a trusted proxy, and is read from the right: addresses that are trusted
/// proxies themselves are skipped, the first one that is not is the client. Anything
/// unreadable on that walk means nothing in the header can be believed: the peer's
/// address is used. No list (the default) trusts nobody.
class trusted_proxies {
public:
    /// Throws std::invalid_argument naming an entry that is not an address or range.
    explicit trusted_proxies(const std::vector<std::string>& entries = {});

    bool empty() const { return networks_.empty(); }
    bool trusts(const ip_address& address) const;

    /// The client's address, canonical. `peer` is the TCP peer's address; `forwarded_for`
    /// the X-Forwarded-For header (several header lines joined with commas, in order;
    /// empty when there is none). Never throws on what a client sends.
    std::string client_address(std::string_view peer, std::string_view forwarded_for) const;

private:
    std::vector<ip_network> networks_;
};

}  // namespace chat::broker
