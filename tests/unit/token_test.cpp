#include <catch2/catch.hpp>
#include <set>

#include "shared/util/token.hpp"
#include "shared/wire/validate.hpp"

TEST_CASE("tokens are 64 lowercase hex characters and never repeat") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto token = chat::util::random_token();
        REQUIRE_FALSE(chat::wire::check_token(token));
        REQUIRE(seen.insert(token).second);
    }
}

TEST_CASE("sha256_hex matches the standard test vectors") {
    CHECK(chat::util::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(chat::util::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("same_secret: equal only for the same text, whatever the lengths") {
    using chat::util::same_secret;
    const std::string secret(64, 'a');
    CHECK(same_secret(secret, secret));
    CHECK_FALSE(same_secret(std::string(63, 'a'), secret));
    CHECK_FALSE(same_secret(secret + "a", secret));
    CHECK_FALSE(same_secret(std::string(63, 'a') + "b", secret));
    CHECK_FALSE(same_secret("", secret));
    CHECK(same_secret("", ""));
}
