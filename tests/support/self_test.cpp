// Checks of the harness itself, runnable before any service exists: if these fail,
// e2e failures say nothing about the services.
#include <catch2/catch.hpp>
#include <thread>

#include "tests/support/stack.hpp"
#include "tests/support/fake_ws_server.hpp"
#include "tests/support/postgres.hpp"
#include "tests/support/ws_client.hpp"

using namespace chat::test;
using namespace std::chrono_literals;

TEST_CASE("scratch databases are created, usable and dropped", "[support]") {
    temp_dir dir;
    std::string name;
    {
        scratch_database db(dir.path(), /*migrate=*/false);
        name = db.name();
        db.query("CREATE TABLE t (x int); INSERT INTO t VALUES (41), (1)");
        CHECK(db.query("SELECT sum(x) FROM t") == "42");
        CHECK(db.url().find("/" + name) != std::string::npos);
    }
    auto& server = postgres_server::shared();
    CHECK(server.psql("SELECT count(*) FROM pg_database WHERE datname = '" + name + "'") == "0");
}

TEST_CASE("ws_client buffers pushes, matches responses, answers PING and sees close codes",
          "[support]") {
    fake_ws_server server;
    ws_client client(server.port());
    CHECK(client.is_open());

    // A push that arrives before the response stays buffered for wait_push.
    auto response = client.request({{"cmd", "PUSH_ME"}, {"n", 1}});
    CHECK(response["cmd"] == "PUSH_ME");
    CHECK(response["echo"]["n"] == 1);
    auto push = client.wait_push([](const json& f) { return f["cmd"] == "PUSH_TEST"; }, 1s);
    REQUIRE(push.has_value());
    CHECK_FALSE(client.next_frame(100ms).has_value());

    // Responses are matched by requestId when they echo one.
    client.send({{"cmd", "DIALOGUE"}, {"requestId", "a"}});
    client.send({{"cmd", "DIALOGUE"}, {"requestId", "b"}});
    auto b = client.wait_response("DIALOGUE", 2s, json("b"));
    CHECK(b["echo"]["requestId"] == "b");
    auto a = client.wait_response("DIALOGUE", 2s, json("a"));
    CHECK(a["echo"]["requestId"] == "a");

    // The fake server's PING is answered with a PONG carrying its accountId.
    auto pinged = client.request({{"cmd", "PING_ME"}});
    CHECK(pinged["echo"]["cmd"] == "PONG");
    CHECK(pinged["echo"]["accountId"] == 7);
    CHECK(client.pings_received() == 1);

    CHECK_THROWS(client.wait_response("NEVER", 100ms));

    client.send({{"cmd", "CLOSE_ME"}});
    REQUIRE(client.wait_closed(2s));
    CHECK(client.close_code() == 4001);
    CHECK_FALSE(client.is_open());
}

TEST_CASE("ws_client abort drops the connection without a close frame", "[support]") {
    fake_ws_server server;
    ws_client client(server.port());
    client.abort();
    CHECK_FALSE(client.is_open());
    CHECK_FALSE(client.close_code().has_value());
    CHECK_THROWS(ws_client(free_port()));
}
