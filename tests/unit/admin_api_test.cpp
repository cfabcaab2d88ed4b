// The admin API's routing, token check and input checks, on a fake store: what reaches
// the store is exactly what a valid request asked for, and bad input never does.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "services/logic/src/admin_api.hpp"
#include <spdlog/sinks/null_sink.h>

namespace fs = std::filesystem;
using chat::http::request;
using chat::logic::admin_api;
using chat::logic::ban_request;
using chat::logic::resolve_outcome;
using nlohmann::json;

namespace {

const std::string k_token = std::string(48, 't');

std::shared_ptr<spdlog::logger> quiet_log() {
    return std::make_shared<spdlog::logger>("admin_api_test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

// Remembers every call; answers what the test set up.
struct fake_store : chat::logic::moderation_store {
    std::vector<std::string> calls;
    std::optional<ban_request> last_ban;
    std::string last_state;
    std::int64_t last_id = 0;
    std::string last_resolution, last_note;
    resolve_outcome resolve_answer = resolve_outcome::resolved;
    bool account_exists = true;
    bool ban_in_force = true;

    json stats() override {
        calls.push_back("stats");
        return {{"online", 3}, {"waiting", 1}, {"openConversations", 1}, {"brokers", json::array()}};
    }
    json reports(const std::string& state, int) override {
        calls.push_back("reports");
        last_state = state;
        return {{"reports", json::array()}};
    }
    std::pair<resolve_outcome, json> resolve(std::int64_t id, const std::string& resolution,
                                             const std::string& note) override {
        calls.push_back("resolve");
        last_id = id;
        last_resolution = resolution;
        last_note = note;
        return {resolve_answer, json{{"id", id}}};
    }
    json bans() override {
        calls.push_back("bans");
        return {{"bans", json::array()}};
    }
    std::optional<json> ban(const ban_request& r) override {
        calls.push_back("ban");
        last_ban = r;
        if (!account_exists) return std::nullopt;
        return json{{"id", 7}};
    }
    std::optional<json> lift(std::int64_t id) override {
        calls.push_back("lift");
        last_id = id;
        if (!ban_in_force) return std::nullopt;
        return json{{"id", id}};
    }
};

struct web_root {
    fs::path dir = fs::temp_directory_path() / ("chat-admin-web-" + std::to_string(::getpid()));
    web_root() {
        fs::create_directories(dir / "assets");
        std::ofstream(dir / "moderation.html") << "<title>moderation</title>";
        std::ofstream(dir / "index.html") << "<title>chat</title>";
        std::ofstream(dir / "assets" / "moderation-1a2b.js") << "console.log(1)";
    }
    ~web_root() { fs::remove_all(dir); }
};

struct fixture {
    fake_store store;
    web_root web;
    admin_api api{store, k_token, web.dir, quiet_log()};

    chat::http::response call(const std::string& method, const std::string& target, const std::string& body = "",
                              const std::string& token = k_token) {
        request r;
        r.method = method;
        r.target = target;
        r.body = body;
        if (!token.empty()) r.authorization = "Bearer " + token;
        return api.handle(r);
    }
};

std::string error_of(const chat::http::response& r) { return json::parse(r.body).value("error", std::string()); }

}  // namespace

TEST_CASE("admin API: every /api/ path needs the exact token, and without it the store is never asked") {
    fixture f;
    for (const char* target : {"/api/stats", "/api/reports", "/api/bans", "/api/nothing", "/api"}) {
        INFO(target);
        CHECK(f.call("GET", target, "", "").status == 401);
        CHECK(f.call("GET", target, "", k_token + "x").status == 401);
        CHECK(f.call("GET", target, "", k_token.substr(1)).status == 401);
        auto basic = f.call("GET", target, "", "");
        CHECK(basic.headers.size() == 1);
    }
    request lower;  // the scheme must be Bearer
    lower.method = "GET";
    lower.target = "/api/stats";
    lower.authorization = "Basic " + k_token;
    CHECK(f.api.handle(lower).status == 401);
    CHECK(f.store.calls.empty());

    const auto ok = f.call("GET", "/api/stats");
    CHECK(ok.status == 200);
    CHECK(ok.content_type == "application/json");
    CHECK(json::parse(ok.body)["online"] == 3);
    CHECK(f.store.calls == std::vector<std::string>{"stats"});
}

TEST_CASE("admin API: reports by state, open by default; anything else is a 400") {
    fixture f;
    CHECK(f.call("GET", "/api/reports").status == 200);
    CHECK(f.store.last_state == "open");
    CHECK(f.call("GET", "/api/reports?state=resolved").status == 200);
    CHECK(f.store.last_state == "resolved");
    CHECK(f.call("GET", "/api/reports?x=1&state=all").status == 200);
    CHECK(f.store.last_state == "all");
    const auto bad = f.call("GET", "/api/reports?state=closed");
    CHECK(bad.status == 400);
    CHECK(error_of(bad) == "state must be open, resolved or all");
    CHECK(f.store.calls.size() == 3);
    CHECK(f.call("POST", "/api/reports").status == 405);
}

TEST_CASE("admin API: resolving a report checks its id and body first") {
    fixture f;
    const auto ok = f.call("POST", "/api/reports/12/resolve", R"({"resolution":"dismissed","note":" fine "})");
    CHECK(ok.status == 200);
    CHECK(f.store.last_id == 12);
    CHECK(f.store.last_resolution == "dismissed");
    CHECK(f.store.last_note == "fine");
    CHECK(json::parse(ok.body)["report"]["id"] == 12);

    f.store.calls.clear();
    CHECK(f.call("POST", "/api/reports/12/resolve", R"({"resolution":"deleted"})").status == 400);
    CHECK(f.call("POST", "/api/reports/12/resolve", R"({})").status == 400);
    CHECK(f.call("POST", "/api/reports/12/resolve", R"({"resolution":"banned","extra":1})").status == 400);
    CHECK(f.call("POST", "/api/reports/12/resolve", R"({"resolution":"banned","note":5})").status == 400);
    CHECK(f.call("POST", "/api/reports/12/resolve", R"({"resolution":"banned","note":")" + std::string(501, 'n') +
                                                        "\"}")
              .status == 400);
    CHECK(f.call("POST", "/api/reports/12/resolve", "not json").status == 400);
    CHECK(f.call("POST", "/api/reports/0/resolve", R"({"resolution":"banned"})").status == 404);
    CHECK(f.call("POST", "/api/reports/-3/resolve", R"({"resolution":"banned"})").status == 404);
    CHECK(f.call("POST", "/api/reports/1e3/resolve", R"({"resolution":"banned"})").status == 404);
    CHECK(f.call("POST", "/api/reports/9999999999999999999/resolve", R"({"resolution":"banned"})").status == 404);
    CHECK(f.call("GET", "/api/reports/12/resolve").status == 405);
    CHECK(f.store.calls.empty());

    f.store.resolve_answer = resolve_outcome::unknown;
    CHECK(f.call("POST", "/api/reports/13/resolve", R"({"resolution":"banned"})").status == 404);
    f.store.resolve_answer = resolve_outcome::settled_before;
    const auto twice = f.call("POST", "/api/reports/13/resolve", R"({"resolution":"banned"})");
    CHECK(twice.status == 409);
    CHECK(json::parse(twice.body)["report"]["id"] == 13);
}

TEST_CASE("admin API: a ban needs an account or an address, a duration and a reason") {
    fixture f;
    const auto made = f.call("POST", "/api/bans", R"({"accountId":5,"duration":3600,"reason":"spam"})");
    CHECK(made.status == 201);
    REQUIRE(f.store.last_ban);
    CHECK(f.store.last_ban->account_id == 5);
    CHECK_FALSE(f.store.last_ban->address);
    CHECK(f.store.last_ban->duration_seconds == 3600);
    CHECK(f.store.last_ban->reason == "spam");

    CHECK(f.call("POST", "/api/bans", R"({"address":"10.1.2.3","duration":60,"reason":"x"})").status == 201);
    CHECK(f.store.last_ban->address == "10.1.2.3");
    CHECK_FALSE(f.store.last_ban->account_id);

    f.store.calls.clear();
    const std::vector<std::pair<std::string, std::string>> refused = {
        {R"({"duration":3600,"reason":"spam"})", "a ban needs accountId, address or both"},
        {R"({"accountId":5,"duration":59,"reason":"spam"})", "duration"},
        {R"({"accountId":5,"duration":31536001,"reason":"spam"})", "duration"},
        {R"({"accountId":5,"duration":"3600","reason":"spam"})", "duration"},
        {R"({"accountId":5,"reason":"spam"})", "duration"},
        {R"({"accountId":5,"duration":3600})", "reason"},
        {R"({"accountId":5,"duration":3600,"reason":"   "})", "reason"},
        {R"({"accountId":5,"duration":3600,"reason":")" + std::string(201, 'r') + "\"}", "reason"},
        {R"({"accountId":0,"duration":3600,"reason":"x"})", "accountId"},
        {R"({"accountId":"5","duration":3600,"reason":"x"})", "accountId"},
        {R"({"accountId":5.5,"duration":3600,"reason":"x"})", "accountId"},
        {R"({"address":"a b","duration":3600,"reason":"x"})", "address"},
        {R"({"address":"","duration":3600,"reason":"x"})", "address"},
        {R"({"address":"x\u0001","duration":3600,"reason":"x"})", "address"},
        {R"({"accountId":5,"duration":3600,"reason":"x","admin":true})", "unknown field 'admin'"},
        {R"([5])", "JSON object"},
        {"", "JSON object"},
    };
    for (const auto& [body, expected] : refused) {
        INFO(body);
        const auto r = f.call("POST", "/api/bans", body);
        CHECK(r.status == 400);
        CHECK_THAT(error_of(r), Catch::Contains(expected));
    }
    CHECK(f.store.calls.empty());

    f.store.account_exists = false;
    const auto unknown = f.call("POST", "/api/bans", R"({"accountId":77,"duration":3600,"reason":"x"})");
    CHECK(unknown.status == 404);
    CHECK(error_of(unknown) == "no account 77");
    CHECK(f.call("DELETE", "/api/bans").status == 405);
    CHECK(f.call("GET", "/api/bans").status == 200);
}

TEST_CASE("admin API: lifting names a ban in force") {
    fixture f;
    CHECK(f.call("POST", "/api/bans/9/lift").status == 200);
    CHECK(f.store.last_id == 9);
    f.store.ban_in_force = false;
    CHECK(f.call("POST", "/api/bans/9/lift").status == 404);
    CHECK(f.call("GET", "/api/bans/9/lift").status == 405);
    CHECK(f.call("POST", "/api/bans/x/lift").status == 404);
    CHECK(f.call("POST", "/api/bans/9/unlift").status == 404);
}

TEST_CASE("admin API: a store failure is a JSON error, not a crash") {
    struct failing_store final : fake_store {
        json stats() override { throw std::runtime_error("disk on fire"); }
        json bans() override { throw pqxx::broken_connection("gone"); }
    } store;
    web_root web;
    admin_api api{store, k_token, web.dir, quiet_log()};
    request r;
    r.method = "GET";
    r.authorization = "Bearer " + k_token;
    r.target = "/api/stats";
    const auto failed = api.handle(r);
    CHECK(failed.status == 500);
    CHECK_THAT(error_of(failed), !Catch::Contains("disk on fire"));  // details go to the log only
    r.target = "/api/bans";
    CHECK(api.handle(r).status == 503);
}

TEST_CASE("admin listener pages: the moderator page and its assets, never the chat page or files outside") {
    fixture f;
    for (const char* target : {"/", "/moderation", "/moderation/reports?x=1"}) {
        INFO(target);
        const auto page = f.call("GET", target, "", "");
        CHECK(page.status == 200);
        CHECK(page.body == "<title>moderation</title>");
        CHECK(page.content_type == "text/html; charset=utf-8");
    }
    const auto asset = f.call("GET", "/assets/moderation-1a2b.js", "", "");
    CHECK(asset.status == 200);
    CHECK(asset.content_type == "text/javascript; charset=utf-8");
    CHECK(f.call("GET", "/index.html", "", "").status == 404);
    CHECK(f.call("GET", "/../etc/passwd", "", "").status == 404);
    CHECK(f.call("GET", "/assets/../../x.js", "", "").status == 404);
    CHECK(f.call("POST", "/moderation", "", "").status == 405);
}
