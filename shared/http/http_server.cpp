// clang-format off
#include <utility>  // before Asio with g++ 12 in C++20 mode (PITFALLS)
// clang-format on

#include "shared/http/http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace chat::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

std::string_view path_of(std::string_view target) { return target.substr(0, target.find_first_of("?#")); }

std::string query_value(const std::string& target, const std::string& name) {
    const auto q = target.find('?');
    if (q == std::string::npos) return {};
    std::size_t from = q + 1;
    while (from <= target.size()) {
        auto end = target.find('&', from);
        if (end == std::string::npos) end = target.size();
        const auto pair = target.substr(from, end - from);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == name) return eq == std::string::npos ? std::string() : pair.substr(eq + 1);
        from = end + 1;
    }
    return {};
}

namespace {

// One request, one response, then close: scrapes and moderators come seldom.
class connection : public std::enable_shared_from_this<connection> {
public:
    connection(tcp::socket socket, const handler& handle, std::size_t max_body)
        : stream_(std::move(socket)), handle_(handle) {
        parser_.body_limit(max_body);
    }

    void run() {
        stream_.expires_after(std::chrono::seconds(10));
        bhttp::async_read(stream_, buffer_, parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

private:
    void on_read(beast::error_code ec) {
        if (ec == bhttp::error::body_limit) return send({413, "text/plain; charset=utf-8", "request body too large\n"});
        if (ec) return;
        const auto& req = parser_.get();
        request in;
        in.method = std::string(req.method_string());
        in.target = std::string(req.target());
        in.authorization = std::string(req[bhttp::field::authorization]);
        in.body = req.body();
        const bool head = req.method() == bhttp::verb::head;
        if (head) in.method = "GET";
        response answer;
        try {
            answer = handle_(in);
        } catch (const std::exception& e) {
            answer = {500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n"};
        }
        send(std::move(answer), head);
    }

    // HEAD: the GET answer's headers, Content-Length included, without its body.
    void send(response answer, bool head = false) {
        response_.version(11);
        response_.result(static_cast<bhttp::status>(answer.status));
        response_.set(bhttp::field::content_type, answer.content_type);
        response_.set(bhttp::field::cache_control, answer.cache_control);
        response_.set("X-Content-Type-Options", "nosniff");
        for (auto& [name, value] : answer.headers) response_.set(name, value);
        response_.keep_alive(false);
        const auto length = answer.body.size();
        if (!head) response_.body() = std::move(answer.body);
        response_.content_length(length);
        bhttp::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, std::size_t) {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    bhttp::request_parser<bhttp::string_body> parser_;
    bhttp::response<bhttp::string_body> response_;
    const handler& handle_;
};

}  // namespace

struct server::impl {
    impl(const std::string& address, unsigned short port, handler h, std::shared_ptr<spdlog::logger> l,
         std::size_t body_limit)
        : handle(std::move(h)),
          log(std::move(l)),
          max_body(body_limit),
          acceptor(ioc, {net::ip::make_address(address), port}) {
        accept();
        thread = std::thread([this] { ioc.run(); });
    }

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec == net::error::operation_aborted) return;
            if (ec) {
                log->warn("http listener: accept failed: {}", ec.message());
            } else {
                std::make_shared<connection>(std::move(socket), handle, max_body)->run();
            }
            accept();
        });
    }

    handler handle;
    std::shared_ptr<spdlog::logger> log;
    std::size_t max_body;
    net::io_context ioc{1};
    tcp::acceptor acceptor;
    std::thread thread;
};

server::server(const std::string& address, unsigned short port, handler handle, std::shared_ptr<spdlog::logger> log,
               std::size_t max_body)
    : impl_(std::make_unique<impl>(address, port, std::move(handle), std::move(log), max_body)) {}

server::~server() {
    net::post(impl_->ioc, [this] {
        beast::error_code ignored;
        impl_->acceptor.close(ignored);
    });
    impl_->ioc.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

unsigned short server::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace chat::http
