#include "deploy/stack/nginx.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "deploy/stack/files.hpp"
#include "deploy/stack/net.hpp"
#include "deploy/stack/wait.hpp"

namespace chat::stack {
namespace {

std::filesystem::path conf_dir(const nginx_options& options) { return options.dir / "nginx"; }

std::string upstream_servers(const std::vector<std::uint16_t>& brokers) {
    std::string lines;
    // max_fails=0: no failure accounting. nginx clears a broker's failures only when one
    // of its requests ends, and a WebSocket request ends when the connection closes, so a
    // broker that refused once (while restarting) would get one new connection per
    // fail_timeout for as long as its connections last. Without it, a refused upgrade
    // costs one refused connect before the next broker (proxy_next_upstream).
    for (auto port : brokers) lines += "        server 127.0.0.1:" + std::to_string(port) + " max_fails=0;\n";
    return lines;
}

}  // namespace

std::string nginx_config(const nginx_options& options) {
    const auto dir = conf_dir(options).string();
    const auto timeout = std::to_string(options.ws_timeout.count()) + "s";
    // As root, nginx's workers drop to an unprivileged user; they read the web client
    // and write the temp directories below (nginx makes those theirs).
    std::string user;
    if (::geteuid() == 0) user = ::getpwnam("www-data") ? "user www-data;\n" : "user nobody;\n";
    return user +
           "worker_processes 1;\n"
           "pid " + dir + "/nginx.pid;\n"
           "error_log " + dir + "/error.log warn;\n"
           "events { worker_connections 16384; }\n"
           "worker_rlimit_nofile 40000;\n"
           "# A graceful stop (SIGQUIT) waits this long for open WebSockets, then closes them.\n"
           "worker_shutdown_timeout 5s;\n"
           "http {\n"
           "    include /etc/nginx/mime.types;\n"
           "    default_type application/octet-stream;\n"
           "    # Which broker took each request: the upstream's address.\n"
           "    log_format chat '$remote_addr [$time_local] \"$request\" $status upstream=$upstream_addr';\n"
           "    access_log " + dir + "/access.log chat;\n"
           "    client_body_temp_path " + dir + "/client_body;\n"
           "    proxy_temp_path " + dir + "/proxy;\n"
           "    fastcgi_temp_path " + dir + "/fastcgi;\n"
           "    uwsgi_temp_path " + dir + "/uwsgi;\n"
           "    scgi_temp_path " + dir + "/scgi;\n"
           "    server_tokens off;\n"
           "\n"
           "    # New connections go to the broker with the fewest: after a rolling restart\n"
           "    # moved everyone to one broker, newcomers fill the other one first.\n"
           "    upstream chat_brokers {\n"
           "        least_conn;\n" +
           upstream_servers(options.brokers) +
           "    }\n"
           "    map $http_upgrade $connection_upgrade {\n"
           "        default upgrade;\n"
           "        ''      close;\n"
           "    }\n"
           "\n"
           "    server {\n"
           "        listen 127.0.0.1:" + std::to_string(options.port) + ";\n"
           "        root " + options.web_root.string() + ";\n"
           "        location / {\n"
           "            try_files $uri $uri/ /index.html =404;\n"
           "        }\n"
           "        location = /healthz {\n"
           "            proxy_pass http://chat_brokers;\n"
           "            proxy_connect_timeout 2s;\n"
           "            proxy_read_timeout 5s;\n"
           "        }\n"
           "        location = /ws {\n"
           "            proxy_pass http://chat_brokers;\n"
           "            proxy_http_version 1.1;\n"
           "            proxy_set_header Upgrade $http_upgrade;\n"
           "            proxy_set_header Connection $connection_upgrade;\n"
           "            # The broker checks Origin against the page's own host.\n"
           "            proxy_set_header Host $http_host;\n"
           "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
           "            proxy_set_header X-Forwarded-Proto $scheme;\n"
           "            # A broker that is down (refused, or no answer within 2 s) is skipped:\n"
           "            # the upgrade goes to the next one.\n"
           "            proxy_connect_timeout 2s;\n"
           "            proxy_next_upstream error timeout;\n"
           "            proxy_read_timeout " + timeout + ";\n"
           "            proxy_send_timeout " + timeout + ";\n"
           "            # Frames go through as they come: no buffering of a chat stream.\n"
           "            proxy_buffering off;\n"
           "        }\n"
           "    }\n"
           "}\n";
}

nginx_server::nginx_server(nginx_options options) : options_(std::move(options)) {
    if (options_.port == 0) options_.port = free_port();
    if (options_.brokers.empty()) throw std::invalid_argument("nginx: no brokers to balance");
    std::filesystem::create_directories(conf_dir(options_));
    write_file(conf_dir(options_) / "nginx.conf", nginx_config(options_));
    start();
}

nginx_server::nginx_server(const nlohmann::json& state, bool detached) {
    options_.dir = state.at("dir").get<std::string>();
    options_.port = state.at("port").get<std::uint16_t>();
    options_.detached = detached;
    spawn_options spawn;
    spawn.log_file = state.at("log").get<std::string>();
    spawn.detached = detached;
    spawn.stop_signal = SIGQUIT;  // graceful: open connections finish first
    process_ = std::make_unique<child_process>(
        state.at("argv").get<std::vector<std::string>>(), spawn,
        process_id{state.at("pid").get<pid_t>(), state.value("start_time", 0ULL)});
}

nginx_server::~nginx_server() {
    if (process_ && !process_->released()) stop();
}

void nginx_server::start() {
    auto program = find_program("nginx");
    if (program.empty()) throw std::runtime_error("nginx is not installed (deploy/install-packages.sh)");
    const auto dir = conf_dir(options_);
    std::vector<std::string> argv{program.string(), "-p", dir.string(), "-c", (dir / "nginx.conf").string(),
                                  "-e", (dir / "error.log").string(), "-g", "daemon off;"};
    spawn_options spawn;
    spawn.log_file = options_.dir / "nginx.log";
    spawn.detached = options_.detached;
    spawn.stop_signal = SIGQUIT;
    process_ = std::make_unique<child_process>(std::move(argv), spawn);
    wait_healthy();
}

void nginx_server::wait_healthy() {
    bool ready = wait_until([&] { return !process_->running() || healthy(); }, std::chrono::seconds(15), 50ms);
    if (!ready || !process_->running())
        throw std::runtime_error("nginx did not answer /healthz on port " + std::to_string(options_.port) +
                                 "\n" + process_->describe() + "\n" + tail_file(conf_dir(options_) / "error.log", 20));
}

bool nginx_server::healthy() const {
    auto response = http_get(options_.port, "/healthz", std::chrono::milliseconds(1000));
    return response && response->status == 200;
}

void nginx_server::stop() {
    if (process_) process_->stop(std::chrono::seconds(5));
}

void nginx_server::kill9() {
    if (!process_ || !process_->running()) return;
    // The whole process group: a worker left behind would keep serving the port.
    ::kill(-process_->pid(), SIGKILL);
    process_->kill9();
}

void nginx_server::restart() {
    stop();
    process_->restart();
    wait_healthy();
}

nlohmann::json nginx_server::to_json() const {
    return {{"name", k_name},
            {"url", url()},
            {"port", options_.port},
            {"dir", options_.dir.string()},
            {"pid", process_->pid()},
            {"start_time", process_->id().start_time},
            {"log", process_->log_file().string()},
            {"argv", process_->argv()}};
}

}  // namespace chat::stack
