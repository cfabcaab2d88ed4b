#pragma once

#include <utility>  // before asio with g++ 12 in C++20 mode
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <memory>

namespace chat::broker {

class shared_state;

/// Accepts TCP connections and hands each to an http_session on its own strand.
class listener : public std::enable_shared_from_this<listener> {
public:
    listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
             std::shared_ptr<shared_state> state);

    void run();
    void stop();
    /// The port actually bound (useful when configured as 0).
    unsigned short port() const { return acceptor_.local_endpoint().port(); }

private:
    void do_accept();
    void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<shared_state> state_;
};

}  // namespace chat::broker
