#include "services/broker/src/listener.hpp"

#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "services/broker/src/broker_context.hpp"
#include "services/broker/src/http_connection.hpp"

namespace chat::broker {

namespace net = boost::asio;

listener::listener(net::io_context& ioc, const net::ip::tcp::endpoint& endpoint, std::shared_ptr<broker_context> ctx)
    : ioc_(ioc), acceptor_(ioc), ctx_(std::move(ctx)) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
}

void listener::run() { do_accept(); }

void listener::stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
    });
}

void listener::do_accept() {
    // Each connection gets its own strand: its handlers never run concurrently.
    acceptor_.async_accept(net::make_strand(ioc_),
                           boost::beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(boost::beast::error_code ec, net::ip::tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
        // Out of file descriptors and the like: keep accepting once it passes.
        ctx_->log().warn("accept failed: {}", ec.message());
    } else {
        // Frames are whole messages and writes are already coalesced per connection, so
        // Nagle only adds delay: an ack followed by a push would wait for the client's
        // delayed TCP ACK (40 ms on Linux).
        boost::system::error_code ignored;
        socket.set_option(net::ip::tcp::no_delay(true), ignored);
        std::make_shared<http_connection>(std::move(socket), ctx_)->run();
    }
    do_accept();
}

}  // namespace chat::broker
