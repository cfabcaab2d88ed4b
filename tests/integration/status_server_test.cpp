// The status listener of logic and dispatcher over a real socket.
// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "shared/metrics/status_server.hpp"

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

http::response<http::string_body> get(unsigned short port, const std::string& target) {
    boost::asio::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(socket, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res;
}

}  // namespace

TEST_CASE("the status listener serves /metrics, /healthz and /readyz on its own port") {
    chat::metrics::service_metrics metrics("logic");
    std::atomic<bool> connected{false};
    chat::metrics::status_server server("127.0.0.1", 0, metrics,
                                        [&] { return connected ? std::string() : std::string("not connected to NATS"); },
                                        std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()));
    REQUIRE(server.port() != 0);

    const auto m = get(server.port(), "/metrics");
    CHECK(m.result() == http::status::ok);
    CHECK(m[http::field::content_type] == chat::metrics::k_text_format);
    CHECK_THAT(m.body(), Catch::Contains("chat_build_info{service=\"logic\""));
    CHECK_THAT(m.body(), Catch::Contains("process_resident_memory_bytes"));

    CHECK(get(server.port(), "/healthz").result() == http::status::ok);
    const auto not_ready = get(server.port(), "/readyz");
    CHECK(not_ready.result() == http::status::service_unavailable);
    CHECK(not_ready.body() == "not connected to NATS\n");
    connected = true;
    CHECK(get(server.port(), "/readyz").result() == http::status::ok);
    CHECK(get(server.port(), "/nope").result() == http::status::not_found);
}
