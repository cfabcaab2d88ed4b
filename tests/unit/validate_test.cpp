#include <catch2/catch.hpp>

#include "shared/wire/validate.hpp"

using namespace chat::wire;

TEST_CASE("UTF-8 validation accepts well-formed text and refuses every malformed kind") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii"));
    CHECK(is_valid_utf8("héllo wörld"));
    CHECK(is_valid_utf8("\xE4\xBD\xA0\xE5\xA5\xBD"));      // 你好
    CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));              // 😀
    CHECK_FALSE(is_valid_utf8("\xC3"));                    // truncated
    CHECK_FALSE(is_valid_utf8("\xC3\x28"));                // bad continuation
    CHECK_FALSE(is_valid_utf8("\xC0\xAF"));                // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));            // overlong
    CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));            // surrogate U+D800
    CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));        // above U+10FFFF
    CHECK_FALSE(is_valid_utf8("\xFF"));
    CHECK_FALSE(is_valid_utf8("\x80"));                    // lone continuation
}

TEST_CASE("nicknames: 1 to 32 characters after trimming, no control characters") {
    CHECK_FALSE(check_nickname("alice"));
    CHECK_FALSE(check_nickname("  alice  "));
    CHECK(normalize_nickname("  alice \t") == "alice");
    CHECK(check_nickname(""));
    CHECK(check_nickname("   "));
    CHECK_FALSE(check_nickname(std::string(32, 'a')));
    CHECK(check_nickname(std::string(33, 'a')));
    // 32 two-byte characters are 64 bytes but still 32 characters.
    std::string wide;
    for (int i = 0; i < 32; ++i) wide += "\xC3\xA9";
    CHECK_FALSE(check_nickname(wide));
    CHECK(check_nickname(wide + "\xC3\xA9"));
    CHECK(check_nickname("ali\nce"));
    CHECK(check_nickname(std::string("ali\0ce", 6)));
    CHECK(check_nickname("\xC3\x28"));
}

TEST_CASE("content: 1 to 4096 bytes of UTF-8, not blank, no NUL") {
    CHECK_FALSE(check_content("hello"));
    CHECK_FALSE(check_content("<script>alert(1)</script>"));  // markup is just text
    CHECK_FALSE(check_content(std::string(4096, 'x')));
    CHECK(check_content(std::string(4097, 'x')));
    CHECK(check_content(""));
    CHECK(check_content(" \n\t"));
    CHECK(check_content(std::string("a\0b", 3)));
    CHECK(check_content("\xED\xA0\x80"));
}

TEST_CASE("request ids, tokens and ids") {
    CHECK_FALSE(check_request_id("7:1"));
    CHECK(check_request_id(""));
    CHECK(check_request_id(std::string(65, 'r')));
    CHECK(check_request_id("has space"));
    CHECK_FALSE(check_token(std::string(64, 'f')));
    CHECK(check_token(std::string(64, 'F')));
    CHECK(check_token(std::string(63, 'f')));
    CHECK_FALSE(check_id("accountId", 1));
    CHECK(check_id("accountId", 0));
    CHECK(check_id("accountId", -1));
}
