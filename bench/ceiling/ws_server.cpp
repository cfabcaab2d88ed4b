// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include "bench/ceiling/ws_server.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench/ceiling/proc_cpu.hpp"
#include "shared/proto/chat.pb.h"
#include "shared/wire/client_frames.hpp"
#include "shared/wire/limits.hpp"
#include "shared/wire/server_frames.hpp"

namespace chat::bench::ceiling {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

class connection;

/// The account → connection registry (connection_registry's, under its mutex).
class registry {
  public:
    void bind(std::int64_t account, const std::weak_ptr<connection>& c) {
        {
            std::lock_guard lock(mutex_);
            accounts_[account] = c;
        }
        bound_.notify_all();
    }
    /// The client's handshake can complete before the server has bound the connection.
    bool wait_bound(std::size_t count, std::chrono::seconds timeout) {
        std::unique_lock lock(mutex_);
        return bound_.wait_for(lock, timeout, [&] { return accounts_.size() >= count; });
    }
    std::shared_ptr<connection> find(std::int64_t account) {
        std::lock_guard lock(mutex_);
        auto it = accounts_.find(account);
        return it == accounts_.end() ? nullptr : it->second.lock();
    }

  private:
    std::mutex mutex_;
    std::condition_variable bound_;
    std::unordered_map<std::int64_t, std::weak_ptr<connection>> accounts_;
};

class connection : public std::enable_shared_from_this<connection> {
  public:
    connection(tcp::socket&& socket, registry& accounts, std::size_t index,
               std::atomic<std::uint64_t>& dialogues)
        : ws_(std::move(socket)),
          accounts_(accounts),
          account_(static_cast<std::int64_t>(index) + 1),
          partner_(static_cast<std::int64_t>(index ^ 1) + 1),
          dialogues_(dialogues) {}

    void run() {
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.read_message_max(wire::k_hard_frame_cap_bytes);  // as ws_connection
        ws_.async_accept(beast::bind_front_handler(&connection::on_accept, shared_from_this()));
    }

    /// Thread-safe, as ws_connection::push.
    void push(std::shared_ptr<const std::string> frame) {
        net::post(ws_.get_executor(),
                  [self = shared_from_this(), frame = std::move(frame)]() mutable {
                      self->send(std::move(frame));
                  });
    }

  private:
    void on_accept(beast::error_code ec) {
        if (ec) return;
        accounts_.bind(account_, weak_from_this());
        do_read();
    }

    void do_read() {
        ws_.async_read_some(buffer_, 16 * 1024,
                            beast::bind_front_handler(&connection::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec) {
            gone_ = true;
            return;
        }
        if (!ws_.is_message_done()) return do_read();
        if (ws_.got_text()) {
            const auto data = buffer_.data();
            handle_frame({static_cast<const char*>(data.data()), data.size()});
        }
        buffer_.consume(buffer_.size());
        do_read();
    }

    void handle_frame(std::string_view text) {
        auto parsed = wire::parse_client_frame(text);
        if (auto* error = std::get_if<wire::frame_error>(&parsed))
            return send(wire::error_frame(error->cmd, error->error_code, error->msg,
                                          error->request_id_echo));
        if (auto* dialogue =
                std::get_if<wire::dialogue_request>(&std::get<wire::client_request>(parsed)))
            on_dialogue(std::move(*dialogue));
    }

    void on_dialogue(wire::dialogue_request&& r) {
        if (r.sender_id != account_)
            return send(wire::error_frame("DIALOGUE", wire::code::forbidden,
                                          "a connection can only act as its own account",
                                          r.request_id_echo));
        // ws_connection::on_dialogue's item, which would go to logic in a request.
        proto::Dialogue item;
        item.set_request_id(std::move(r.request_id));
        item.set_sender_id(r.sender_id);
        item.set_session_id(r.session_id);
        item.set_content(std::move(r.content));
        const std::int64_t msg_id = ++sent_;
        ++dialogues_;

        // Logic's reply: the broker decodes it on a NATS thread and posts it here.
        net::post(ws_.get_executor(),
                  [self = shared_from_this(), echo = std::move(r.request_id_echo),
                   session = item.session_id(), msg_id] {
                      proto::DialogueResult result;
                      result.set_code(0);
                      result.set_msg_id(msg_id);
                      self->send(wire::dialogue_frame(echo, session, result));
                  });
        // The dispatcher's push: broker_service::on_push encodes the frame, looks the
        // receiver up and posts it to the receiver's strand.
        proto::Delivery d;
        d.set_kind(proto::Delivery::MESSAGE);
        d.set_receiver_id(partner_);
        d.set_session_id(item.session_id());
        d.set_msg_id(msg_id);
        d.set_sender_id(item.sender_id());
        d.set_content(item.content());
        auto frame = std::make_shared<const std::string>(wire::push_frame(d));
        if (auto partner = accounts_.find(partner_)) partner->push(std::move(frame));
    }

    void send(std::string frame) { send(std::make_shared<const std::string>(std::move(frame))); }

    void send(std::shared_ptr<const std::string> frame) {
        if (gone_) return;
        write_queue_.push_back(std::move(frame));
        if (write_queue_.size() == 1) do_write();
    }

    void do_write() {
        write_started_ = std::chrono::steady_clock::now();
        ws_.text(true);
        ws_.async_write(net::buffer(*write_queue_.front()),
                        beast::bind_front_handler(&connection::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t) {
        if (ec || gone_) {
            gone_ = true;
            return;
        }
        write_queue_.pop_front();
        if (!write_queue_.empty()) do_write();
    }

    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    registry& accounts_;
    const std::int64_t account_;
    const std::int64_t partner_;
    std::atomic<std::uint64_t>& dialogues_;
    std::deque<std::shared_ptr<const std::string>> write_queue_;
    std::chrono::steady_clock::time_point write_started_;
    std::int64_t sent_ = 0;
    bool gone_ = false;
};

}  // namespace

struct ws_server::impl {
    net::io_context ioc;
    tcp::acceptor acceptor{ioc};
    registry accounts;
    std::atomic<std::uint64_t> dialogues{0};
    std::size_t accepted = 0;
    std::mutex tids_mutex;
    std::condition_variable tids_known;
    std::vector<pid_t> tids;
    std::vector<std::thread> threads;

    explicit impl(int thread_count) : ioc(thread_count) {
        const tcp::endpoint local(net::ip::make_address("127.0.0.1"), 0);
        acceptor.open(local.protocol());
        acceptor.set_option(net::socket_base::reuse_address(true));
        acceptor.bind(local);
        acceptor.listen(net::socket_base::max_listen_connections);
        do_accept();
        for (int i = 0; i < thread_count; ++i)
            threads.emplace_back([this] {
                {
                    std::lock_guard lock(tids_mutex);
                    tids.push_back(this_thread_id());
                }
                tids_known.notify_all();
                ioc.run();
            });
        std::unique_lock lock(tids_mutex);
        tids_known.wait(lock, [&] { return tids.size() == threads.size(); });
    }

    void do_accept() {
        // Each connection on its own strand and without Nagle, as the broker's listener.
        acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec,
                                                            tcp::socket socket) {
            if (ec) return;
            socket.set_option(tcp::no_delay(true), ec);  // as the broker's listener
            std::make_shared<connection>(std::move(socket), accounts, accepted++, dialogues)->run();
            do_accept();
        });
    }

    ~impl() {
        ioc.stop();
        for (auto& t : threads) t.join();
    }
};

ws_server::ws_server(int threads) : impl_(std::make_unique<impl>(threads)) {}

ws_server::~ws_server() = default;

std::uint16_t ws_server::port() const { return impl_->acceptor.local_endpoint().port(); }

std::uint64_t ws_server::cpu_ns() const {
    std::lock_guard lock(impl_->tids_mutex);
    std::uint64_t total = 0;
    for (pid_t tid : impl_->tids) total += thread_cpu_ns(tid);
    return total;
}

std::uint64_t ws_server::dialogues() const { return impl_->dialogues.load(); }

void ws_server::wait_for_connections(std::size_t count) {
    if (!impl_->accounts.wait_bound(count, std::chrono::seconds(30)))
        throw std::runtime_error("the WebSocket server did not see all " + std::to_string(count) +
                                 " connections");
}

}  // namespace chat::bench::ceiling
