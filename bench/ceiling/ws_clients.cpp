// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include "bench/ceiling/ws_clients.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/frames.hpp"

namespace chat::bench::ceiling {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

struct client {
    explicit client(net::io_context& ioc) : ws(ioc) {}
    websocket::stream<tcp::socket> ws;
    beast::flat_buffer buffer;
    std::deque<std::string> out;
    std::int64_t account = 0, session = 0;
    std::uint64_t quota = 0, sent = 0;
};

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

struct ws_clients::impl {
    net::io_context ioc{1};
    std::vector<std::unique_ptr<client>> clients;
    std::size_t payload = 0;
    std::uint64_t target = 0;
    result totals;
    std::string failure;

    // chat-bench's DIALOGUE, byte for byte.
    std::string frame_for(client& c) {
        const auto seq = ++c.sent;
        const auto content = dialogue_content(
            std::chrono::steady_clock::now().time_since_epoch().count(), c.account, seq, payload);
        return dialogue_frame(seq, c.account, c.session, content);
    }

    void send(client& c) {
        c.out.push_back(frame_for(c));
        if (c.out.size() == 1) write(c);
    }

    void write(client& c) {
        c.ws.text(true);
        c.ws.async_write(net::buffer(c.out.front()), [this, &c](beast::error_code ec, std::size_t) {
            if (ec) return fail("client write: " + ec.message());
            c.out.pop_front();
            if (!c.out.empty()) write(c);
        });
    }

    void read(client& c) {
        c.ws.async_read(c.buffer, [this, &c](beast::error_code ec, std::size_t) {
            if (ec) return fail("client read: " + ec.message());
            const auto data = c.buffer.data();
            const std::string_view frame(static_cast<const char*>(data.data()), data.size());
            // nlohmann::json writes keys in order, so "cmd" comes first and "code" second.
            if (starts_with(frame, R"({"cmd":"PUSH_DIALOGUE")")) {
                ++totals.pushed;
            } else if (starts_with(frame, R"({"cmd":"DIALOGUE","code":0,)")) {
                ++totals.acked;
                if (c.sent < c.quota) send(c);
            } else {
                ++totals.refused;
                return fail("unexpected frame " + std::string(frame.substr(0, 200)));
            }
            c.buffer.consume(c.buffer.size());
            if (totals.acked >= target && totals.pushed >= target) return ioc.stop();
            read(c);
        });
    }

    void fail(const std::string& why) {
        if (failure.empty()) failure = why;
        ioc.stop();
    }
};

ws_clients::ws_clients(std::uint16_t port, std::size_t connections, std::size_t payload)
    : impl_(std::make_unique<impl>()) {
    impl_->payload = payload;
    const tcp::endpoint server(net::ip::make_address("127.0.0.1"), port);
    for (std::size_t i = 0; i < connections; ++i) {
        auto c = std::make_unique<client>(impl_->ioc);
        c->account = static_cast<std::int64_t>(i) + 1;
        c->session = static_cast<std::int64_t>(i / 2) + 1;
        c->ws.next_layer().connect(server);
        c->ws.next_layer().set_option(
            tcp::no_delay(true));  // as chat-bench's clients and the broker
        c->ws.handshake("127.0.0.1:" + std::to_string(port), "/ws");
        impl_->clients.push_back(std::move(c));
    }
}

ws_clients::~ws_clients() {
    for (auto& c : impl_->clients) {
        beast::error_code ignored;
        c->ws.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
        c->ws.next_layer().close(ignored);
    }
}

ws_clients::result ws_clients::run(std::uint64_t messages, std::size_t window,
                                   std::chrono::seconds timeout) {
    auto& s = *impl_;
    if (s.target != 0) throw std::logic_error("ws_clients::run is for one run");
    s.target = messages;
    const auto n = s.clients.size();
    for (std::size_t i = 0; i < n; ++i)
        s.clients[i]->quota = messages / n + (i < messages % n ? 1 : 0);
    net::steady_timer deadline(s.ioc, timeout);
    deadline.async_wait([&](beast::error_code ec) {
        if (!ec) s.fail("the WebSocket probe timed out");
    });
    const auto start = std::chrono::steady_clock::now();
    for (auto& c : s.clients) {
        for (std::size_t k = 0; k < window && c->sent < c->quota; ++k) s.send(*c);
        s.read(*c);
    }
    s.ioc.run();
    if (!s.failure.empty()) throw std::runtime_error(s.failure);
    result r = s.totals;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

}  // namespace chat::bench::ceiling
