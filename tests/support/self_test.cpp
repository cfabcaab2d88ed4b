// Checks of the harness itself, runnable before any service exists: if these fail,
// e2e failures say nothing about the services.
#include <catch2/catch.hpp>
#include <thread>

#include "support/child_process.hpp"
#include "support/fake_ws_server.hpp"
#include "support/file_util.hpp"
#include "support/free_port.hpp"
#include "support/nats_server.hpp"
#include "support/postgres.hpp"
#include "support/temp_dir.hpp"
#include "support/ws_client.hpp"

using namespace chat::test;
using namespace std::chrono_literals;

TEST_CASE("free_port gives distinct bindable ports", "[support]") {
    auto a = free_port();
    auto b = free_port();
    CHECK(a > 0);
    CHECK(b > 0);
    CHECK_FALSE(port_accepts(a));
}

TEST_CASE("child_process logs output, reports exit status and stops", "[support]") {
    temp_dir dir;
    spawn_options options;
    options.log_file = dir / "echo.log";
    CHECK(run_command({"/bin/sh", "-c", "echo hello; exit 3"}, options) == 3);
    CHECK(read_file(options.log_file) == "hello\n");

    options.log_file = dir / "sleep.log";
    child_process sleeper({"/bin/sleep", "30"}, options);
    CHECK(sleeper.running());
    CHECK_FALSE(sleeper.wait_exit(100ms).has_value());
    auto status = sleeper.stop(2s);
    REQUIRE(status.has_value());
    CHECK(*status == 128 + SIGTERM);
    CHECK_FALSE(sleeper.running());

    // A process that ignores SIGTERM is SIGKILLed after the grace period.
    child_process stubborn({"/bin/sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"},
                           options);
    std::this_thread::sleep_for(100ms);
    status = stubborn.stop(300ms);
    REQUIRE(status.has_value());
    CHECK(*status == 128 + SIGKILL);
}

TEST_CASE("nats_server starts, dies and restarts on the same port", "[support]") {
    temp_dir dir;
    nats_server nats(dir.path());
    auto port = nats.port();
    CHECK(port_accepts(port));
    auto varz = nats.monitor("/varz");
    REQUIRE(varz.is_object());
    CHECK(varz.value("port", 0) == port);

    nats.kill9();
    CHECK_FALSE(port_accepts(port));
    nats.restart();
    CHECK(nats.port() == port);
    CHECK(port_accepts(port));
}

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
