#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "services/broker/src/client_address.hpp"

using chat::broker::ip_address;
using chat::broker::ip_network;
using chat::broker::trusted_proxies;

TEST_CASE("client address: addresses parse strictly and print canonically") {
    CHECK(ip_address::parse("192.0.2.7")->to_string() == "192.0.2.7");
    CHECK(ip_address::parse("2001:DB8:0:0::1")->to_string() == "2001:db8::1");
    CHECK_FALSE(ip_address::parse("2001:db8::1")->v4);
    // A dual-stack socket's IPv4 peer is the IPv4 address: one person, one bucket.
    CHECK(ip_address::parse("::ffff:192.0.2.7") == ip_address::parse("192.0.2.7"));
    CHECK(ip_address::parse("::ffff:192.0.2.7")->to_string() == "192.0.2.7");
    for (const char* bad : {"", " ", "192.0.2", "192.0.2.256", "192.0.2.7:80", "[2001:db8::1]", "2001:db8::1%eth0",
                            "unknown", "_hidden", "1.2.3.4 ", "01.2.3.4", "2001:db8::1::2", "example.com"})
        CHECK_FALSE(ip_address::parse(bad));
    CHECK_FALSE(ip_address::parse(std::string("1.2.3.4\0garbage", 15)));  // C APIs would stop at the NUL
    CHECK_FALSE(ip_address::parse(std::string(200, '1')));
}

TEST_CASE("client address: CIDR ranges contain what they should") {
    const auto ten = ip_network::parse("10.0.0.0/8");
    REQUIRE(ten);
    CHECK(ten->contains(*ip_address::parse("10.255.1.2")));
    CHECK_FALSE(ten->contains(*ip_address::parse("11.0.0.1")));
    CHECK_FALSE(ten->contains(*ip_address::parse("::a00:1")));  // families never mix

    const auto odd = ip_network::parse("192.168.4.0/22");
    REQUIRE(odd);
    CHECK(odd->contains(*ip_address::parse("192.168.7.255")));
    CHECK_FALSE(odd->contains(*ip_address::parse("192.168.8.0")));
    CHECK_FALSE(odd->contains(*ip_address::parse("192.168.3.255")));

    const auto one = ip_network::parse("192.0.2.7");
    REQUIRE(one);
    CHECK(one->contains(*ip_address::parse("192.0.2.7")));
    CHECK_FALSE(one->contains(*ip_address::parse("192.0.2.6")));

    const auto v6 = ip_network::parse("fd00::/8");
    REQUIRE(v6);
    CHECK(v6->contains(*ip_address::parse("fd12:3456::1")));
    CHECK_FALSE(v6->contains(*ip_address::parse("fe80::1")));
    CHECK(ip_network::parse("::1/128")->contains(*ip_address::parse("::1")));
    CHECK(ip_network::parse("0.0.0.0/0")->contains(*ip_address::parse("203.0.113.9")));
    CHECK(ip_network::parse("::ffff:10.0.0.0/104")->contains(*ip_address::parse("10.9.9.9")));
    CHECK(ip_network::parse("10.1.2.3/8")->contains(*ip_address::parse("10.200.0.1")));  // host bits ignored

    for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x", "::/129",
                            "10.0.0.0/99999999999", "/8", "10.0.0/8", "::ffff:10.0.0.0/64", "10.0.0.0/8/8"})
        CHECK_FALSE(ip_network::parse(bad));
}

TEST_CASE("client address: a peer that is not a trusted proxy is the client, whatever it says") {
    const trusted_proxies nobody;
    CHECK(nobody.empty());
    CHECK(nobody.client_address("127.0.0.1", "203.0.113.5") == "127.0.0.1");
    const trusted_proxies proxies({"10.0.0.1"});
    CHECK(proxies.client_address("192.0.2.50", "203.0.113.5") == "192.0.2.50");
    CHECK(proxies.client_address("192.0.2.50", "") == "192.0.2.50");
    CHECK(proxies.client_address("::ffff:192.0.2.50", "10.0.0.1") == "192.0.2.50");
}

TEST_CASE("client address: behind trusted proxies the header is read from the right") {
    const trusted_proxies proxies({"10.0.0.1", "10.1.0.0/16", "2001:db8:ffff::/48"});
    struct example {
        const char* forwarded_for;
        const char* client;
        const char* why;
    };
    const example examples[] = {
        {"203.0.113.5", "203.0.113.5", "nginx appended what it saw"},
        {"198.51.100.1, 203.0.113.5", "203.0.113.5", "a client's own lies stand left of it"},
        {"10.0.0.1, 203.0.113.5", "203.0.113.5", "even a lie naming a trusted proxy"},
        {"198.51.100.1, 203.0.113.5, 10.1.7.7", "203.0.113.5", "further trusted proxies are skipped"},
        {"203.0.113.5,10.1.7.7,10.0.0.1", "203.0.113.5", "without spaces"},
        {"2001:db8:1::9, 2001:db8:ffff::2", "2001:db8:1::9", "IPv6 hops and ranges"},
        {"198.51.100.1, 203.0.113.5,\t10.1.0.3", "203.0.113.5", "several header lines, joined in order"},
        {"10.1.0.9, 10.1.0.8", "10.1.0.9", "only proxies: the first is where it started"},
        {"2001:DB8:0::7", "2001:db8::7", "one spelling per address"},
        {"::ffff:203.0.113.5", "203.0.113.5", "an IPv4-mapped address is IPv4"},
        {"", "10.0.0.1", "no header: the proxy itself (a health check)"},
        {"  ", "10.0.0.1", "a blank header"},
    };
    for (const auto& e : examples) {
        INFO(e.why << ": X-Forwarded-For '" << e.forwarded_for << "'");
        CHECK(proxies.client_address("10.0.0.1", e.forwarded_for) == e.client);
    }
}

TEST_CASE("client address: anything unreadable where a proxy wrote falls back to the peer") {
    const trusted_proxies proxies({"10.0.0.0/8"});
    for (const char* bad : {"garbage", "203.0.113.5:4431", "[2001:db8::1]", "203.0.113.5,", ",", "unknown",
                            "203.0.113.5, , 10.0.0.2", "203.0.113.5;10.0.0.2", "203.0.113.5 10.0.0.2"})
        CHECK(proxies.client_address("10.0.0.1", bad) == "10.0.0.1");
    // Garbage a client put left of the real hop is never read.
    CHECK(proxies.client_address("10.0.0.1", "garbage, ::::, 203.0.113.5") == "203.0.113.5");
    CHECK(proxies.client_address("10.0.0.1", std::string(8000, ',') + "203.0.113.5") == "203.0.113.5");
    CHECK(proxies.client_address("10.0.0.1", std::string(8000, 'x')) == "10.0.0.1");
    CHECK(proxies.client_address("10.0.0.1", std::string("203.0.113.5\0", 12)) == "10.0.0.1");
}

TEST_CASE("client address: a configured entry that is no address or range is refused by name") {
    CHECK_NOTHROW(trusted_proxies({"127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8"}));
    try {
        trusted_proxies({"127.0.0.1", "10.0.0.0/40"});
        FAIL("accepted 10.0.0.0/40");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("10.0.0.0/40") != std::string::npos);
    }
    CHECK_THROWS_AS(trusted_proxies({"localhost"}), std::invalid_argument);
}
