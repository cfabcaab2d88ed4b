#include "tests/support/fake_ws_server.hpp"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

namespace chat::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

struct fake_ws_server::impl {
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::thread accept_thread;
    std::mutex mutex;
    std::list<std::thread> sessions;
    std::list<tcp::socket*> sockets;
    std::atomic<bool> stopping{false};

    void serve(tcp::socket socket) {
        {
            std::lock_guard lock(mutex);
            sockets.push_back(&socket);
        }
        try {
            websocket::stream<tcp::socket&> ws(socket);
            ws.accept();
            while (true) {
                beast::flat_buffer buffer;
                ws.read(buffer);
                auto frame = json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
                auto cmd =
                    frame.is_object() ? frame.value("cmd", std::string("?")) : std::string("ERROR");
                if (cmd == "PONG") continue;
                if (cmd == "CLOSE_ME") {
                    ws.close(websocket::close_reason(4001));
                    // Drain until the client's close reply ends the read loop.
                    continue;
                }
                if (cmd == "PUSH_ME") ws.write(asio::buffer(json{{"cmd", "PUSH_TEST"}}.dump()));
                if (cmd == "PING_ME") {
                    ws.write(asio::buffer(json{{"cmd", "PING"}, {"accountId", 7}}.dump()));
                    beast::flat_buffer pong;
                    ws.read(pong);
                    frame = json::parse(beast::buffers_to_string(pong.data()), nullptr, false);
                }
                json answer = {{"cmd", cmd}, {"code", 0}, {"echo", frame}};
                if (frame.is_object() && frame.contains("requestId"))
                    answer["requestId"] = frame["requestId"];
                ws.write(asio::buffer(answer.dump()));
            }
        } catch (const std::exception&) {
            // The client went away: that is the end of the session.
        }
        std::lock_guard lock(mutex);
        sockets.remove(&socket);
    }
};

fake_ws_server::fake_ws_server() : impl_(std::make_unique<impl>()) {
    impl* self = impl_.get();
    impl_->accept_thread = std::thread([self] {
        while (!self->stopping) {
            beast::error_code ec;
            tcp::socket socket(self->ioc);
            self->acceptor.accept(socket, ec);
            if (ec || self->stopping) return;
            std::lock_guard lock(self->mutex);
            self->sessions.emplace_back(
                [self, s = std::move(socket)]() mutable { self->serve(std::move(s)); });
        }
    });
}

fake_ws_server::~fake_ws_server() {
    impl_->stopping = true;
    {
        std::lock_guard lock(impl_->mutex);
        beast::error_code ignored;
        for (auto* socket : impl_->sockets) socket->shutdown(tcp::socket::shutdown_both, ignored);
    }
    // Wake the blocking accept with a connection of our own.
    {
        beast::error_code ignored;
        tcp::socket poke(impl_->ioc);
        poke.connect(impl_->acceptor.local_endpoint(), ignored);
    }
    impl_->accept_thread.join();
    for (auto& t : impl_->sessions) t.join();
}

std::uint16_t fake_ws_server::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace chat::test
