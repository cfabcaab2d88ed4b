#include "services/broker/src/settings.hpp"

#include <fmt/format.h>

#include <cctype>
#include <stdexcept>

#include "services/broker/src/client_address.hpp"
#include "shared/bus/subjects.hpp"
#include "shared/wire/limits.hpp"

namespace chat::broker {

broker_settings load_broker_settings(const config::source& from) {
    auto root = config::load_file(from);
    broker_settings s;
    {
        auto b = root.child("broker");
        s.id = b.require_string("id");
        if (!bus::subjects::valid_broker_id(s.id))
            throw config::config_error(fmt::format("broker.id '{}' may only hold letters, digits, - and _", s.id));
        s.address = b.get_string("address", s.address);
        s.port = static_cast<unsigned short>(b.get_int("port", s.port, 0, 65535));
        s.threads = b.get_int("threads", s.threads, 1, 64);
        s.web_root = b.get_string("web_root", s.web_root);
        s.request_timeout = b.get_duration("request_timeout", s.request_timeout);
        s.heartbeat_interval = b.get_duration("heartbeat_interval", s.heartbeat_interval);
        b.finish();
    }
    {
        auto limits = root.child("limits");
        s.max_frame_bytes = static_cast<std::size_t>(
            limits.get_int("max_frame_bytes", static_cast<int>(s.max_frame_bytes), 1024,
                           static_cast<int>(wire::k_hard_frame_cap_bytes)));
        s.max_queued_frames = static_cast<std::size_t>(
            limits.get_int("max_queued_frames", static_cast<int>(s.max_queued_frames), 16, 1'000'000));
        s.messages_per_second = limits.get_int("messages_per_second", 0, 0, 1'000'000);
        s.account_messages_per_second = limits.get_int("account_messages_per_second", 0, 0, 1'000'000);
        s.accounts_per_minute_per_address = limits.get_int("accounts_per_minute_per_address", 0, 0, 1'000'000);
        s.connections_per_minute_per_address = limits.get_int("connections_per_minute_per_address", 0, 0, 1'000'000);
        limits.finish();
    }
    {
        auto ping = root.child("ping");
        s.ping_interval = ping.get_duration("interval", s.ping_interval);
        s.ping_max_wait = ping.get_duration("max_wait", s.ping_max_wait);
        ping.finish();
        if (s.ping_interval.count() <= 0 || s.ping_max_wait < s.ping_interval)
            throw config::config_error("ping.interval must be positive and ping.max_wait at least ping.interval");
    }
    {
        auto http = root.child("http");
        s.allowed_origins = http.get_string_list("allowed_origins");
        s.trusted_proxies = http.get_string_list("trusted_proxies");
        http.finish();
        try {
            trusted_proxies check(s.trusted_proxies);
        } catch (const std::invalid_argument& e) {
            throw config::config_error(fmt::format("http.trusted_proxies: {}", e.what()));
        }
    }
    s.nats = config::read_nats(root);
    s.log = config::read_log(root);
    root.finish();
    return s;
}

}  // namespace chat::broker
