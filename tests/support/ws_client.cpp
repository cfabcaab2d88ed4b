#include "tests/support/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)

#include "tests/support/diagnostics.hpp"

namespace chat::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

// The broker's own hard cap is 16 MiB; reading more than that would be a broker bug
// the test should see as a failed read, not as memory exhaustion.
constexpr std::size_t k_read_message_max = 32 * 1024 * 1024;

std::string abbreviate(const std::string& text, std::size_t max = 300) {
    return text.size() <= max
               ? text
               : text.substr(0, max) + "...(" + std::to_string(text.size()) + " bytes)";
}

std::string expected_response_cmd(const json& request) {
    if (!request.is_object() || !request.contains("cmd") || !request["cmd"].is_string())
        return "ERROR";
    auto cmd = request["cmd"].get<std::string>();
    return cmd == "PING" ? "PONG" : cmd;
}

}  // namespace

// All WebSocket operations run on the one I/O thread, which is what Beast requires of
// a stream (one read and one write in flight, never from two threads). The test thread
// only posts work to it and waits on the buffer under the mutex.
struct ws_client::impl {
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    websocket::stream<beast::tcp_stream> ws{ioc};
    beast::flat_buffer read_buffer;
    std::deque<std::pair<std::string, bool>> out_queue;  // (data, binary); I/O thread only
    bool writing = false;                                // I/O thread only
    std::thread thread;

    mutable std::mutex mutex;
    std::condition_variable cv;
    std::deque<json> inbox;
    bool open = false;
    bool closed = false;
    std::optional<int> close_code;
    std::string close_reason;
    std::string error;
    bool auto_pong = true;
    std::size_t pings = 0;
    std::optional<json> last_ping;
    std::uint16_t local_port = 0;  // set before the connect result is (happens-before)

    void start_read() {
        ws.async_read(read_buffer, [this](beast::error_code ec, std::size_t) { on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec) {
            std::lock_guard lock(mutex);
            closed = true;
            open = false;
            // The server's close frame counts even when the closing handshake then failed:
            // Beast 1.74's server teardown resets a connection that still has unread data
            // (boost/beast#1373), so a client busy writing sees a broken pipe right after it.
            if (ec == websocket::error::closed || ws.reason().code != websocket::close_code::none) {
                close_code = ws.reason().code;
                close_reason = std::string(ws.reason().reason.c_str());
            }
            if (ec != websocket::error::closed && error.empty()) error = ec.message();
            cv.notify_all();
            return;
        }
        std::string text = beast::buffers_to_string(read_buffer.data());
        read_buffer.consume(read_buffer.size());
        json frame;
        if (!ws.got_text()) {
            frame = {{"cmd", "<BINARY>"}, {"raw", abbreviate(text)}};
        } else {
            frame = json::parse(text, nullptr, false);
            if (frame.is_discarded()) frame = {{"cmd", "<NOT JSON>"}, {"raw", abbreviate(text)}};
        }
        bool is_ping = frame.is_object() && frame.value("cmd", json()) == "PING";
        bool answer = false;
        json account_id = frame.is_object() ? frame.value("accountId", json(0)) : json(0);
        {
            std::lock_guard lock(mutex);
            if (is_ping) {
                ++pings;
                last_ping = frame;
            }
            answer = is_ping && auto_pong;
            if (!answer) inbox.push_back(std::move(frame));
            cv.notify_all();
        }
        if (answer) enqueue(json{{"cmd", "PONG"}, {"accountId", account_id}}.dump(), false);
        start_read();
    }

    // I/O thread only.
    void enqueue(std::string data, bool binary) {
        out_queue.emplace_back(std::move(data), binary);
        if (!writing) write_next();
    }

    void write_next() {
        if (out_queue.empty()) {
            writing = false;
            return;
        }
        writing = true;
        ws.text(!out_queue.front().second);
        ws.async_write(asio::buffer(out_queue.front().first),
                       [this](beast::error_code ec, std::size_t) {
                           out_queue.pop_front();
                           if (ec) {
                               std::lock_guard lock(mutex);
                               if (error.empty() && !closed) error = "write: " + ec.message();
                               out_queue.clear();
                               writing = false;
                               return;
                           }
                           write_next();
                       });
    }

    void post_send(std::string data, bool binary) {
        asio::post(ioc, [this, data = std::move(data), binary]() mutable {
            if (!ws.is_open()) return;  // closed: the frame goes nowhere, as in a browser
            enqueue(std::move(data), binary);
        });
    }

    void shut_socket() {
        beast::error_code ignored;
        beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(ws).socket().close(ignored);
    }
};

ws_client::ws_client(std::uint16_t port) : ws_client(port, options{}) {}

ws_client::ws_client(std::uint16_t port, options opts)
    : impl_(std::make_shared<impl>()), port_(port) {
    impl_->auto_pong = opts.auto_pong;
    impl_->ws.read_message_max(k_read_message_max);
    // Browsers send each message as one frame; so do we.
    impl_->ws.auto_fragment(false);

    auto connected = std::make_shared<std::promise<beast::error_code>>();
    auto result = connected->get_future();
    impl* self = impl_.get();
    std::string host = "127.0.0.1:" + std::to_string(port);
    std::string target = opts.target;
    if (!opts.local_address.empty()) {
        const auto local = asio::ip::make_address(opts.local_address);
        auto& socket = beast::get_lowest_layer(self->ws).socket();
        socket.open(local.is_v4() ? tcp::v4() : tcp::v6());
        socket.bind(tcp::endpoint(local, 0));
    }
    if (!opts.headers.empty())
        self->ws.set_option(websocket::stream_base::decorator([headers = opts.headers](websocket::request_type& req) {
            for (const auto& [name, value] : headers) req.insert(name, value);
        }));
    beast::get_lowest_layer(self->ws).expires_after(opts.connect_timeout);
    beast::get_lowest_layer(self->ws).async_connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
        [self, connected, host, target](beast::error_code ec) {
            if (ec) return connected->set_value(ec);
            beast::get_lowest_layer(self->ws).socket().set_option(tcp::no_delay(true));
            beast::error_code ignored;
            self->local_port = beast::get_lowest_layer(self->ws).socket().local_endpoint(ignored).port();
            self->ws.async_handshake(host, target, [self, connected](beast::error_code ec) {
                // The stream's own timeout settings take over after the handshake; the
                // TCP-level deadline must not fire in the middle of a long test.
                beast::get_lowest_layer(self->ws).expires_never();
                if (!ec) {
                    std::lock_guard lock(self->mutex);
                    self->open = true;
                }
                connected->set_value(ec);
                if (!ec) self->start_read();
            });
        });
    impl_->thread = std::thread([self] { self->ioc.run(); });

    beast::error_code ec;
    if (result.wait_for(opts.connect_timeout + std::chrono::seconds(1)) !=
        std::future_status::ready) {
        ec = asio::error::timed_out;
    } else {
        ec = result.get();
    }
    if (ec) {
        asio::post(impl_->ioc, [self] { self->shut_socket(); });
        impl_->work.reset();
        impl_->thread.join();
        throw std::runtime_error("WebSocket connect to ws://" + host + target +
                                 " failed: " + ec.message());
    }
    local_port_ = impl_->local_port;
}

ws_client::~ws_client() {
    impl* self = impl_.get();
    // Closing the socket completes every pending operation with an error, after which
    // run() returns by itself; stopping the context instead would leave Beast's
    // operations to be destroyed after the stream they point into.
    asio::post(impl_->ioc, [self] { self->shut_socket(); });
    impl_->work.reset();
    if (impl_->thread.joinable()) impl_->thread.join();
}

void ws_client::send(const json& frame) { impl_->post_send(frame.dump(), false); }

void ws_client::send_text(std::string text) { impl_->post_send(std::move(text), false); }

void ws_client::send_binary(std::string data) { impl_->post_send(std::move(data), true); }

std::optional<json> ws_client::next_frame(std::chrono::milliseconds timeout) {
    return wait_push([](const json&) { return true; }, timeout);
}

std::optional<json> ws_client::wait_push(const frame_predicate& predicate,
                                         std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    std::unique_lock lock(impl_->mutex);
    std::size_t scanned = 0;
    while (true) {
        // Frames are only appended while we wait, so each scan resumes where the last ended.
        for (auto it = impl_->inbox.begin() + static_cast<std::ptrdiff_t>(scanned);
             it != impl_->inbox.end(); ++it, ++scanned) {
            if (predicate(*it)) {
                json found = std::move(*it);
                impl_->inbox.erase(it);
                return found;
            }
        }
        if (impl_->closed || clock_type::now() >= deadline) return std::nullopt;
        impl_->cv.wait_until(lock, deadline);
    }
}

json ws_client::wait_response(const std::string& cmd, std::chrono::milliseconds timeout,
                              const std::optional<json>& request_id) {
    auto found = wait_push(
        [&](const json& frame) {
            if (!frame.is_object() || frame.value("cmd", json()) != cmd) return false;
            if (cmd != "PONG" && !frame.contains("code")) return false;
            if (request_id && frame.contains("requestId") && frame["requestId"] != *request_id)
                return false;
            return true;
        },
        timeout);
    if (!found) {
        throw std::runtime_error(
            "no " + cmd + " response" +
            (request_id ? " for requestId " + request_id->dump() : std::string()) + " within " +
            std::to_string(timeout.count()) + " ms; " + describe() + "\n" + failure_context());
    }
    return *found;
}

json ws_client::request(const json& request, std::chrono::milliseconds timeout) {
    send(request);
    std::optional<json> request_id;
    if (request.is_object() && request.contains("requestId")) request_id = request["requestId"];
    return wait_response(expected_response_cmd(request), timeout, request_id);
}

json ws_client::request_text(std::string text, const std::string& expected_cmd,
                             std::chrono::milliseconds timeout) {
    send_text(std::move(text));
    return wait_response(expected_cmd, timeout);
}

std::vector<json> ws_client::take_all(const frame_predicate& predicate) {
    std::lock_guard lock(impl_->mutex);
    std::vector<json> taken;
    std::deque<json> kept;
    for (auto& frame : impl_->inbox) {
        if (predicate(frame)) {
            taken.push_back(std::move(frame));
        } else {
            kept.push_back(std::move(frame));
        }
    }
    impl_->inbox.swap(kept);
    return taken;
}

std::vector<json> ws_client::buffered() const {
    std::lock_guard lock(impl_->mutex);
    return {impl_->inbox.begin(), impl_->inbox.end()};
}

void ws_client::set_auto_pong(bool on) {
    std::lock_guard lock(impl_->mutex);
    impl_->auto_pong = on;
}

std::size_t ws_client::pings_received() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->pings;
}

std::optional<json> ws_client::last_ping() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->last_ping;
}

bool ws_client::wait_pings(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    return impl_->cv.wait_for(lock, timeout, [&] {
        return impl_->pings >= count || impl_->closed;
    }) && impl_->pings >= count;
}

bool ws_client::is_open() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->open && !impl_->closed;
}

bool ws_client::wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    return impl_->cv.wait_for(lock, timeout, [&] { return impl_->closed; });
}

std::optional<int> ws_client::close_code() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->close_code;
}

void ws_client::close(int code) {
    impl* self = impl_.get();
    asio::post(impl_->ioc, [self, code] {
        if (!self->ws.is_open()) return;
        self->ws.async_close(websocket::close_reason(static_cast<std::uint16_t>(code)),
                             [](beast::error_code) {});
    });
    wait_closed(std::chrono::seconds(5));
}

void ws_client::abort() {
    impl* self = impl_.get();
    asio::post(impl_->ioc, [self] { self->shut_socket(); });
    wait_closed(std::chrono::seconds(5));
}

account ws_client::create_account(const std::string& nick) {
    json response = request({{"cmd", "CRT_ACCOUNT"}, {"nickName", nick}});
    if (response.value("code", -1) != 0 || !response.contains("accountId") ||
        !response["accountId"].is_number_integer()) {
        throw std::runtime_error("CRT_ACCOUNT " + nick + " failed: " + response.dump() + "\n" +
                                 failure_context());
    }
    account_id_ = response["accountId"].get<std::int64_t>();
    token_ = response.value("token", std::string());
    return {account_id_, token_, response.value("nickName", nick)};
}

json ws_client::reconnect(std::int64_t account_id, const std::string& token) {
    json response = request({{"cmd", "RECONNECT"}, {"accountId", account_id}, {"token", token}});
    if (response.value("code", -1) == 0) {
        account_id_ = account_id;
        token_ = token;
    }
    return response;
}

json ws_client::match() { return request({{"cmd", "MATCH"}, {"accountId", account_id_}}); }

json ws_client::say(std::int64_t session_id, const std::string& content, const json& request_id) {
    return request({{"cmd", "DIALOGUE"},
                    {"requestId", request_id},
                    {"senderId", account_id_},
                    {"sessionId", session_id},
                    {"content", content}});
}

json ws_client::logout() {
    json response = request({{"cmd", "LOGOUT"}, {"accountId", account_id_}});
    if (response.value("code", -1) == 0) account_id_ = 0;
    return response;
}

json ws_client::ping() { return request({{"cmd", "PING"}}); }

std::string ws_client::describe() const {
    std::lock_guard lock(impl_->mutex);
    std::string text = "connection to port " + std::to_string(port_) + " (account " +
                       std::to_string(account_id_) + ") is ";
    if (!impl_->closed) {
        text += "open";
    } else if (impl_->close_code) {
        text += "closed by the server with code " + std::to_string(*impl_->close_code);
    } else {
        text += "closed (" + impl_->error + ")";
    }
    text += "; " + std::to_string(impl_->inbox.size()) + " frame(s) buffered";
    std::size_t shown = 0;
    for (auto& frame : impl_->inbox) {
        if (shown++ == 8) {
            text += " ...";
            break;
        }
        text += "\n  " + abbreviate(frame.dump(), 200);
    }
    return text;
}

}  // namespace chat::test
