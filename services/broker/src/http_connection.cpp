#include "services/broker/src/http_connection.hpp"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "services/broker/src/broker_context.hpp"
#include "services/broker/src/ws_connection.hpp"
#include "shared/http/http_server.hpp"
#include "shared/http/static_files.hpp"

namespace chat::broker {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

constexpr std::size_t k_max_request_body = 8 * 1024;

template <typename Body>
void common_headers(http::response<Body>& res, bool keep_alive) {
    res.set(http::field::server, "chat-broker");
    res.set("X-Content-Type-Options", "nosniff");
    res.keep_alive(keep_alive);
}

http::response<http::string_body> text_response(http::status status, unsigned version, bool keep_alive,
                                                std::string body) {
    http::response<http::string_body> res{status, version};
    common_headers(res, keep_alive);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

// A browser names the page that opens a WebSocket in Origin: allow the broker's own
// origin (scheme + the Host it was reached by) and the configured ones. Clients that
// send no Origin are not browsers and cannot be tricked by a page.
bool origin_allowed(const http::request<http::string_body>& req, const std::vector<std::string>& allowed) {
    const auto origin_it = req.find(http::field::origin);
    if (origin_it == req.end()) return true;
    const std::string origin(origin_it->value());
    const std::string host(req[http::field::host]);
    if (!host.empty() && (origin == "http://" + host || origin == "https://" + host)) return true;
    return std::find(allowed.begin(), allowed.end(), origin) != allowed.end();
}

// Every X-Forwarded-For line, in order, as one list (RFC 9110: lines of a list-valued
// field join with commas); empty when there is none.
std::string forwarded_for(const http::request<http::string_body>& req) {
    std::string joined;
    for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it) {
        if (it->value().empty()) continue;
        if (!joined.empty()) joined += ',';
        joined.append(it->value().data(), it->value().size());
    }
    return joined;
}

}  // namespace

http_connection::http_connection(net::ip::tcp::socket&& socket, std::shared_ptr<broker_context> ctx)
    : stream_(std::move(socket)), ctx_(std::move(ctx)) {}

void http_connection::run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&http_connection::do_read, shared_from_this()));
}

void http_connection::do_read() {
    parser_.emplace();
    parser_->body_limit(k_max_request_body);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&http_connection::on_read, shared_from_this()));
}

template <typename Response>
void http_connection::write(Response&& response) {
    auto res = std::make_shared<std::decay_t<Response>>(std::forward<Response>(response));
    response_ = res;
    const bool keep_alive = res->keep_alive();
    http::async_write(stream_, *res,
                      beast::bind_front_handler(&http_connection::on_write, shared_from_this(), keep_alive));
}

void http_connection::on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) {
        stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
        return;
    }
    if (ec) return;
    auto& req = parser_->get();
    const auto path = chat::http::path_of(std::string_view(req.target().data(), req.target().size()));
    const bool keep_alive = req.keep_alive();
    const auto version = req.version();

    if (beast::websocket::is_upgrade(req)) {
        if (path == "/ws") {
            if (!origin_allowed(req, ctx_->settings().allowed_origins))
                return write(text_response(http::status::forbidden, version, false, "this origin may not connect\n"));
            if (ctx_->stopping())  // its clients reconnect elsewhere; so should this one
                return write(text_response(http::status::service_unavailable, version, false,
                                           "this broker is restarting; connect again\n"));
            beast::error_code ignored;
            const auto peer = stream_.socket().remote_endpoint(ignored).address().to_string();
            auto address = ctx_->proxies().client_address(peer, forwarded_for(req));
            if (!ctx_->allow_connection(address)) {
                ctx_->log().debug("WebSocket from {} (peer {}) refused: over the per-address limit", address, peer);
                return write(text_response(http::status::too_many_requests, version, false,
                                           "too many connections from your address; retry later\n"));
            }
            stream_.expires_never();  // the WebSocket connection sets its own timeouts
            auto connection = std::make_shared<ws_connection>(stream_.release_socket(), ctx_, std::move(address));
            connection->run(parser_->release());
            return;
        }
        return write(text_response(http::status::not_found, version, false, "WebSocket endpoint is /ws\n"));
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head)
        return write(text_response(http::status::method_not_allowed, version, keep_alive, "only GET and HEAD\n"));
    if (path == "/healthz") {
        const bool up = ctx_->nats().connected();
        return write(text_response(up ? http::status::ok : http::status::service_unavailable, version, keep_alive,
                                   up ? "ok\n" : "not connected to NATS\n"));
    }
    if (path == "/readyz") {
        const char* missing = !ctx_->nats().connected() ? "not connected to NATS\n"
                              : ctx_->stopping()         ? "this broker is restarting\n"
                                                         : nullptr;
        return write(text_response(missing ? http::status::service_unavailable : http::status::ok, version,
                                   keep_alive, missing ? missing : "ok\n"));
    }
    if (path == "/metrics") {
        auto res = text_response(http::status::ok, version, keep_alive, ctx_->metrics().render());
        res.set(http::field::content_type, metrics::k_text_format);
        res.set(http::field::cache_control, "no-store");
        return write(std::move(res));
    }
    // The moderator page and API belong to logic's admin listener (docs/operations.md,
    // "Moderation"): the public port does not even hand out the page.
    const bool admins_only = path == "/moderation.html" || path == "/api" || path.rfind("/api/", 0) == 0;
    const auto file = admins_only ? std::nullopt : chat::http::resolve_static(ctx_->settings().web_root, path);
    if (!file) {
        const bool built = std::filesystem::exists(std::filesystem::path(ctx_->settings().web_root) / "index.html");
        return write(text_response(http::status::not_found, version, keep_alive,
                                   built ? "not found\n" : "the web client is not built (./deploy/dev.sh up builds it)\n"));
    }
    http::file_body::value_type body;
    body.open(file->path.c_str(), beast::file_mode::scan, ec);
    if (ec) return write(text_response(http::status::not_found, version, keep_alive, "not found\n"));
    const auto size = body.size();
    http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                        std::make_tuple(http::status::ok, version)};
    common_headers(res, keep_alive);
    res.set(http::field::content_type, file->content_type);
    res.set(http::field::cache_control, file->cache_control);
    res.content_length(size);
    if (req.method() == http::verb::head) {
        http::response<http::empty_body> head{http::status::ok, version};
        common_headers(head, keep_alive);
        head.set(http::field::content_type, file->content_type);
        head.set(http::field::cache_control, file->cache_control);
        head.content_length(size);
        return write(std::move(head));
    }
    write(std::move(res));
}

void http_connection::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
    if (ec) return;
    if (!keep_alive) {
        stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
        return;
    }
    response_.reset();
    do_read();
}

}  // namespace chat::broker
