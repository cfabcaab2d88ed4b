#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "shared/http/static_files.hpp"

namespace fs = std::filesystem;
using chat::http::resolve_static;

namespace {

struct web_root {
    fs::path dir = fs::temp_directory_path() / ("chat-static-" + std::to_string(::getpid()));
    web_root() {
        fs::create_directories(dir / "assets");
        std::ofstream(dir / "index.html") << "<!doctype html>";
        std::ofstream(dir / "assets" / "app-1a2b3c.js") << "console.log(1)";
        std::ofstream(dir / "favicon.svg") << "<svg/>";
        std::ofstream(fs::temp_directory_path() / "chat-secret.txt") << "secret";
    }
    ~web_root() { fs::remove_all(dir); }
};

}  // namespace

TEST_CASE("the root and client routes serve index.html, revalidated") {
    web_root root;
    for (const char* target : {"/", "/chat", "/chat/42?x=1"}) {
        auto file = resolve_static(root.dir, target);
        INFO(target);
        REQUIRE(file);
        CHECK(file->path.filename() == "index.html");
        CHECK(file->content_type == "text/html; charset=utf-8");
        CHECK(file->cache_control == "no-cache");
    }
}

TEST_CASE("hashed assets are cached for a year with their content type") {
    web_root root;
    auto js = resolve_static(root.dir, "/assets/app-1a2b3c.js");
    REQUIRE(js);
    CHECK(js->content_type == "text/javascript; charset=utf-8");
    CHECK(js->cache_control == "public, max-age=31536000, immutable");
    auto svg = resolve_static(root.dir, "/favicon.svg");
    REQUIRE(svg);
    CHECK(svg->content_type == "image/svg+xml");
    CHECK(svg->cache_control == "no-cache");
}

TEST_CASE("nothing outside the web root is served") {
    web_root root;
    CHECK_FALSE(resolve_static(root.dir, "/../chat-secret.txt"));
    CHECK_FALSE(resolve_static(root.dir, "/assets/../../chat-secret.txt"));
    CHECK_FALSE(resolve_static(root.dir, "/..\\chat-secret.txt"));
    CHECK_FALSE(resolve_static(root.dir, "relative.txt"));
    CHECK_FALSE(resolve_static(root.dir, "/missing.js"));
}
