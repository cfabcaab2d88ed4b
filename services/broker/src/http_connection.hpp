#pragma once

#include <utility>  // before asio with g++ 12 in C++20 mode
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>

namespace chat::broker {

class broker_context;

/// One HTTP connection: serves /healthz and the web client's files, and hands a
/// WebSocket upgrade on /ws over to a ws_connection.
class http_connection : public std::enable_shared_from_this<http_connection> {
public:
    http_connection(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<broker_context> ctx);
    void run();

private:
    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t bytes);
    void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
    template <typename Response>
    void write(Response&& response);

    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    std::shared_ptr<broker_context> ctx_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    std::shared_ptr<void> response_;  // keeps the response alive while it is written
};

}  // namespace chat::broker
