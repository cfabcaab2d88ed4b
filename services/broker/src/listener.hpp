#pragma once

#include <utility>  // before asio with g++ 12 in C++20 mode
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <memory>

namespace chat::broker {

class broker_context;

/// Accepts TCP connections and hands each to an http_connection on its own strand.
class listener : public std::enable_shared_from_this<listener> {
public:
    listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
             std::shared_ptr<broker_context> ctx);

    void run();
    void stop();
    /// The port actually bound (useful when configured as 0).
    unsigned short port() const { return acceptor_.local_endpoint().port(); }

private:
    void do_accept();
    void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<broker_context> ctx_;
};

}  // namespace chat::broker
