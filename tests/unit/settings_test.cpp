#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "services/broker/src/settings.hpp"
#include "services/dispatcher/src/settings.hpp"
#include "services/logic/src/settings.hpp"
#include "shared/bus/nats_connection.hpp"
#include "shared/config/yaml_reader.hpp"
#include "shared/util/service_main.hpp"

namespace fs = std::filesystem;
using chat::config::config_error;
using chat::config::parse_duration;

namespace {

const fs::path k_config_dir = fs::path(CHAT_SOURCE_DIR) / "deploy" / "config";

struct temp_config {
    // Unique per object: a test may hold several at once (a config and a password file).
    static inline int count = 0;
    fs::path file = fs::temp_directory_path() /
                    ("chat-settings-" + std::to_string(::getpid()) + "-" + std::to_string(++count) + ".yaml");
    explicit temp_config(const std::string& yaml) { std::ofstream(file) << yaml; }
    ~temp_config() { fs::remove(file); }
};

// What loading with `sets` says is wrong: the config_error's message, or "(accepted)".
template <typename Load>
std::string refusal_of(const Load& load, std::vector<std::string> sets) {
    try {
        load(std::move(sets));
    } catch (const config_error& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST_CASE("durations take ms, s and m") {
    CHECK(parse_duration("250ms") == std::chrono::milliseconds(250));
    CHECK(parse_duration("5s") == std::chrono::milliseconds(5000));
    CHECK(parse_duration("2m") == std::chrono::milliseconds(120000));
    CHECK(parse_duration("40") == std::chrono::milliseconds(40));
    CHECK(parse_duration("2h") == std::chrono::hours(2));
    CHECK(parse_duration("30d") == std::chrono::hours(720));
    CHECK_THROWS_AS(parse_duration("5w"), config_error);
    CHECK_THROWS_AS(parse_duration("soon"), config_error);
    CHECK_THROWS_AS(parse_duration("-1s"), config_error);
}

TEST_CASE("the shipped configs load with their documented values") {
    const auto broker = chat::broker::load_broker_settings((k_config_dir / "broker.yaml").string());
    CHECK(broker.id == "b1");
    CHECK(broker.port == 8080);
    CHECK(broker.ping_interval == std::chrono::seconds(10));
    CHECK(broker.ping_max_wait == std::chrono::seconds(30));
    CHECK(broker.max_frame_bytes == 65536);
    CHECK(broker.nats.url == "nats://127.0.0.1:14222");

    const auto logic = chat::logic::load_logic_settings((k_config_dir / "logic.yaml").string());
    CHECK(logic.workers == 4);
    CHECK(logic.broker_timeout == std::chrono::seconds(5));
    CHECK(logic.presence.grace == std::chrono::seconds(30));
    CHECK(logic.presence.token_ttl == std::chrono::hours(720));
    CHECK(logic.postgres.url.find("15432") != std::string::npos);
    CHECK(logic.match_transactions == 2);
    CHECK(logic.http.address == "127.0.0.1");
    CHECK(logic.http.port == 18301);
    CHECK(logic.log.format == "text");

    const auto dispatcher = chat::dispatcher::load_dispatcher_settings((k_config_dir / "dispatcher.yaml").string());
    CHECK(dispatcher.batch_max == 500);
    CHECK(dispatcher.sweep_interval == std::chrono::seconds(1));
    CHECK(dispatcher.http.port == 18302);
}

TEST_CASE("unknown keys are refused, naming the key") {
    temp_config top("broker: {id: b1}\nnats: {url: nats://x:1}\ncolour: blue\n");
    REQUIRE_THROWS_AS(chat::broker::load_broker_settings(top.file.string()), config_error);
    try {
        chat::broker::load_broker_settings(top.file.string());
    } catch (const config_error& e) {
        CHECK(std::string(e.what()).find("colour") != std::string::npos);
    }
    temp_config nested("broker: {id: b1, prot: 80}\n");
    CHECK_THROWS_AS(chat::broker::load_broker_settings(nested.file.string()), config_error);
    temp_config ping("broker: {id: b1}\nping: {interval: 1s, max_wiat: 3s}\n");
    CHECK_THROWS_AS(chat::broker::load_broker_settings(ping.file.string()), config_error);
}

TEST_CASE("missing required keys and bad values are refused") {
    temp_config no_id("broker: {port: 80}\n");
    CHECK_THROWS_AS(chat::broker::load_broker_settings(no_id.file.string()), config_error);
    temp_config bad_id("broker: {id: 'b 1'}\n");
    CHECK_THROWS_AS(chat::broker::load_broker_settings(bad_id.file.string()), config_error);
    temp_config bad_port("broker: {id: b1, port: 70000}\n");
    CHECK_THROWS_AS(chat::broker::load_broker_settings(bad_port.file.string()), config_error);
    temp_config ping_order("broker: {id: b1}\nping: {interval: 10s, max_wait: 1s}\n");
    CHECK_THROWS_AS(chat::broker::load_broker_settings(ping_order.file.string()), config_error);
    temp_config no_pg("logic: {workers: 2}\n");
    CHECK_THROWS_AS(chat::logic::load_logic_settings(no_pg.file.string()), config_error);
    temp_config zero_workers("logic: {workers: 0}\npostgres: {url: x}\n");
    CHECK_THROWS_AS(chat::logic::load_logic_settings(zero_workers.file.string()), config_error);
    temp_config bad_level("dispatcher: {}\npostgres: {url: x}\nlog: {level: loud}\n");
    CHECK_THROWS_AS(chat::dispatcher::load_dispatcher_settings(bad_level.file.string()), config_error);
    temp_config bad_format("dispatcher: {}\npostgres: {url: x}\nlog: {format: xml}\n");
    CHECK_THROWS_AS(chat::dispatcher::load_dispatcher_settings(bad_format.file.string()), config_error);
    temp_config bad_http_port("dispatcher: {}\npostgres: {url: x}\nhttp: {port: 70000}\n");
    CHECK_THROWS_AS(chat::dispatcher::load_dispatcher_settings(bad_http_port.file.string()), config_error);
    temp_config json_logs("dispatcher: {}\npostgres: {url: x}\nlog: {format: json}\n");
    CHECK(chat::dispatcher::load_dispatcher_settings(json_logs.file.string()).log.format == "json");
    CHECK_THROWS_AS(chat::broker::load_broker_settings("/nonexistent.yaml"), config_error);
}

TEST_CASE("defaults fill what a config leaves out") {
    temp_config minimal("broker: {id: b7}\n");
    const auto s = chat::broker::load_broker_settings(minimal.file.string());
    CHECK(s.id == "b7");
    CHECK(s.port == 8080);
    CHECK(s.threads == 2);
    CHECK(s.request_timeout == std::chrono::seconds(5));
}

TEST_CASE("overrides given with --set replace the file key by key and are checked like the file") {
    using chat::config::source;
    const auto shipped = (k_config_dir / "broker.yaml").string();
    const auto s = chat::broker::load_broker_settings(
        source(shipped, {"broker.id=b2", "broker.port=8082", "nats.url=nats://127.0.0.1:1", "http.allowed_origins=[http://a]"}));
    CHECK(s.id == "b2");
    CHECK(s.port == 8082);
    CHECK(s.nats.url == "nats://127.0.0.1:1");
    CHECK(s.ping_interval == std::chrono::seconds(10));  // untouched keys keep the file's value
    // A section the file does not have is created.
    temp_config minimal("broker: {id: b7}\n");
    CHECK(chat::broker::load_broker_settings(source(minimal.file.string(), {"ping.interval=2s"})).ping_interval ==
          std::chrono::seconds(2));
    // Later overrides win.
    CHECK(chat::broker::load_broker_settings(source(shipped, {"broker.port=1", "broker.port=2"})).port == 2);
    // A typo in an override is refused as one in the file would be.
    CHECK_THROWS_AS(chat::broker::load_broker_settings(source(shipped, {"broker.prot=80"})), config_error);
    CHECK_THROWS_AS(chat::broker::load_broker_settings(source(shipped, {"broker.port=70000"})), config_error);
    CHECK_THROWS_AS(chat::broker::load_broker_settings(source(shipped, {"broker.port"})), config_error);
    CHECK_THROWS_AS(chat::broker::load_broker_settings(source(shipped, {"=5"})), config_error);
    CHECK_THROWS_AS(chat::broker::load_broker_settings(source(shipped, {"broker..port=5"})), config_error);
    // A path through a value that is not a mapping.
    CHECK_THROWS_AS(chat::broker::load_broker_settings(source(shipped, {"broker.port.x=5"})), config_error);
}

TEST_CASE("http.trusted_proxies: a list of addresses and ranges, set in the file or with --set") {
    using chat::config::source;
    const auto shipped = (k_config_dir / "broker.yaml").string();
    CHECK(chat::broker::load_broker_settings(shipped).trusted_proxies.empty());  // trust nobody
    const auto s = chat::broker::load_broker_settings(
        source(shipped, {"http.trusted_proxies=[127.0.0.1, 10.0.0.0/8, '::1', 'fd00::/8']"}));
    CHECK(s.trusted_proxies == std::vector<std::string>{"127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"});
    // YAML reads an unquoted IPv6 address in a flow list as it should.
    CHECK(chat::broker::load_broker_settings(source(shipped, {"http.trusted_proxies=[::1, 2001:db8::/32]"}))
              .trusted_proxies == std::vector<std::string>{"::1", "2001:db8::/32"});
    CHECK(chat::broker::load_broker_settings(source(shipped, {"http.trusted_proxies=[]"})).trusted_proxies.empty());
    temp_config block("broker: {id: b1}\nhttp:\n  trusted_proxies:\n    - 127.0.0.1\n    - ::1\n");
    CHECK(chat::broker::load_broker_settings(block.file.string()).trusted_proxies ==
          std::vector<std::string>{"127.0.0.1", "::1"});
    // Entries that are no address or range, and a value that is no list, fail start-up.
    try {
        chat::broker::load_broker_settings(source(shipped, {"http.trusted_proxies=[127.0.0.1, 10.0.0.0/33]"}));
        FAIL("accepted 10.0.0.0/33");
    } catch (const config_error& e) {
        CHECK(std::string(e.what()).find("http.trusted_proxies") != std::string::npos);
        CHECK(std::string(e.what()).find("10.0.0.0/33") != std::string::npos);
    }
    CHECK_THROWS_AS(chat::broker::load_broker_settings(source(shipped, {"http.trusted_proxies=[nginx.local]"})),
                    config_error);
    CHECK_THROWS_AS(chat::broker::load_broker_settings(source(shipped, {"http.trusted_proxies=127.0.0.1"})),
                    config_error);
}

TEST_CASE("service arguments are --config FILE then --set pairs") {
    using chat::util::parse_config_args;
    auto ok = parse_config_args({"--config", "f.yaml", "--set", "a.b=1", "--set", "c=2"});
    REQUIRE(ok);
    CHECK(ok->file == "f.yaml");
    CHECK(ok->overrides == std::vector<std::string>{"a.b=1", "c=2"});
    CHECK(parse_config_args({"--config", "f.yaml"}));
    CHECK_FALSE(parse_config_args({}));
    CHECK_FALSE(parse_config_args({"--config"}));
    CHECK_FALSE(parse_config_args({"--set", "a=1", "--config", "f"}));
    CHECK_FALSE(parse_config_args({"--config", "f", "--set"}));
    CHECK_FALSE(parse_config_args({"--config", "f", "--sett", "a=1"}));
}

TEST_CASE("nats.url is one URL or a comma-separated list, each with a host") {
    using chat::config::nats_url_host;
    using chat::config::split_nats_urls;
    CHECK(split_nats_urls("nats://127.0.0.1:14222") == std::vector<std::string>{"nats://127.0.0.1:14222"});
    CHECK(split_nats_urls(" nats://a:1, nats://b:2 ,tls://c:3,") ==
          std::vector<std::string>{"nats://a:1", "nats://b:2", "tls://c:3"});
    CHECK_THROWS_AS(split_nats_urls(""), config_error);
    CHECK_THROWS_AS(split_nats_urls(" , "), config_error);
    CHECK_THROWS_AS(split_nats_urls("nats://a:1,nats://:2"), config_error);
    CHECK(nats_url_host("nats://user:pw@host.example:4222") == "host.example");
    CHECK(nats_url_host("tls://localhost:1/x") == "localhost");
    CHECK(nats_url_host("127.0.0.1") == "127.0.0.1");
    CHECK(nats_url_host("nats://[::1]:4222") == "::1");
    CHECK(chat::bus::redact_url("nats://user:secret@127.0.0.1:4222") == "nats://127.0.0.1:4222");
    CHECK(chat::bus::redact_url("tls://127.0.0.1:4222") == "tls://127.0.0.1:4222");

    using chat::config::source;
    const auto shipped = (k_config_dir / "logic.yaml").string();
    const auto s = chat::logic::load_logic_settings(
        source(shipped, {"nats.url=nats://127.0.0.1:1,nats://127.0.0.1:2,nats://127.0.0.1:3"}));
    CHECK(s.nats.url == "nats://127.0.0.1:1,nats://127.0.0.1:2,nats://127.0.0.1:3");
    CHECK(s.nats.user.empty());  // the shipped configs connect without credentials and TLS
    CHECK(s.nats.tls.ca_file.empty());
    CHECK_THROWS_AS(chat::logic::load_logic_settings(source(shipped, {"nats.url=, ,"})), config_error);
}

TEST_CASE("retention: the shipped windows, overrides in hours and days, and windows the rules need") {
    using chat::config::source;
    const auto shipped = (k_config_dir / "logic.yaml").string();
    const auto load = [&](std::vector<std::string> sets) {
        return chat::logic::load_logic_settings(source(shipped, std::move(sets))).retention;
    };
    const auto r = load({});
    CHECK(r.enabled);
    CHECK(r.messages == std::chrono::hours(7 * 24));
    CHECK(r.accounts == std::chrono::hours(30 * 24));
    CHECK(r.reports == std::chrono::hours(90 * 24));
    CHECK(r.interval == std::chrono::seconds(60));
    CHECK(r.batch == 1000);
    CHECK(r.pause == std::chrono::milliseconds(50));
    // The defaults in code are the shipped ones.
    const chat::logic::retention_policy defaults;
    CHECK(defaults.messages == r.messages);
    CHECK(defaults.accounts == r.accounts);
    CHECK(defaults.reports == r.reports);

    const auto set = load({"retention.messages=168h", "retention.accounts=720h", "retention.reports=2160h",
                           "retention.enabled=false", "retention.batch=50", "retention.pause=0ms"});
    CHECK(set.messages == r.messages);
    CHECK(set.accounts == r.accounts);
    CHECK(set.reports == r.reports);
    CHECK_FALSE(set.enabled);
    CHECK(set.batch == 50);
    CHECK(set.pause.count() == 0);
    CHECK(load({"retention.messages=0s"}).messages.count() == 0);  // kept forever

    CHECK_THROWS_AS(load({"retention.enabled=maybe"}), config_error);
    CHECK_THROWS_AS(load({"retention.batch=0"}), config_error);
    CHECK_THROWS_AS(load({"retention.interval=0s"}), config_error);
    CHECK_THROWS_AS(load({"retention.messages=7x"}), config_error);
    CHECK_THROWS_AS(load({"retention.keep=1d"}), config_error);
    // Shorter than the repeat window or the report window, the rules would miss rows.
    CHECK_THROWS_AS(load({"retention.messages=5m"}), config_error);
    CHECK(load({"retention.messages=5m", "matching.repeat_window=1m"}).messages == std::chrono::minutes(5));
    CHECK_THROWS_AS(load({"retention.reports=1h"}), config_error);
}

TEST_CASE("nats.user needs nats.password_file, whose first line is the password") {
    using chat::config::source;
    const auto shipped = (k_config_dir / "dispatcher.yaml").string();
    const auto load = [&](std::vector<std::string> sets) {
        return chat::dispatcher::load_dispatcher_settings(source(shipped, std::move(sets)));
    };
    const auto message_of = [&](std::vector<std::string> sets) { return refusal_of(load, std::move(sets)); };
    temp_config password("s3cret-pw\nthe second line is ignored\n");
    const auto s = load({"nats.user=dispatcher", "nats.password_file=" + password.file.string()});
    CHECK(s.nats.user == "dispatcher");
    CHECK(s.nats.password == "s3cret-pw");
    const auto options = chat::bus::connection_options(s.nats, "chat-dispatcher");
    CHECK(options.user == "dispatcher");
    CHECK(options.password == "s3cret-pw");
    CHECK(options.tls_ca_file.empty());

    CHECK(message_of({"nats.user=dispatcher"}).find("nats.password_file") != std::string::npos);
    CHECK(message_of({"nats.user=dispatcher", "nats.password_file=/nonexistent/pw"}).find("cannot be read") !=
          std::string::npos);
    temp_config empty("\n");
    CHECK(message_of({"nats.user=dispatcher", "nats.password_file=" + empty.file.string()}).find("empty") !=
          std::string::npos);
    CHECK(message_of({"nats.password_file=" + password.file.string()}).find("nats.user is empty") !=
          std::string::npos);
    CHECK_THROWS_AS(load({"nats.passwd=x"}), config_error);
}

TEST_CASE("nats.tls.ca_file turns TLS on and the URLs' host is the name checked") {
    using chat::config::source;
    const auto shipped = (k_config_dir / "broker.yaml").string();
    const auto load = [&](std::vector<std::string> sets) {
        return chat::broker::load_broker_settings(source(shipped, std::move(sets)));
    };
    temp_config ca("-----BEGIN CERTIFICATE-----\n");
    const std::string ca_set = "nats.tls.ca_file=" + ca.file.string();
    const auto one_host = load({ca_set, "nats.url=tls://127.0.0.1:1,tls://127.0.0.1:2"});
    CHECK(one_host.nats.tls.ca_file == ca.file.string());
    CHECK(chat::config::tls_server_name(one_host.nats) == "127.0.0.1");
    const auto options = chat::bus::connection_options(one_host.nats, "chat-broker-b1");
    CHECK(options.tls_ca_file == ca.file.string());
    CHECK(options.tls_server_name == "127.0.0.1");

    // cnats checks one name for every server: several hosts need the name said.
    CHECK_THROWS_AS(load({ca_set, "nats.url=tls://a:1,tls://b:2"}), config_error);
    const auto named = load({ca_set, "nats.url=tls://a:1,tls://b:2", "nats.tls.server_name=nats.example"});
    CHECK(chat::config::tls_server_name(named.nats) == "nats.example");

    CHECK_THROWS_AS(load({"nats.tls.ca_file=/nonexistent/ca.pem"}), config_error);
    CHECK_THROWS_AS(load({"nats.url=tls://127.0.0.1:1"}), config_error);  // tls:// without a CA
    CHECK_THROWS_AS(load({ca_set, "nats.tls.verify=true"}), config_error);
}

TEST_CASE("admin.port needs admin.token_file with a token of 32 characters or more") {
    using chat::config::source;
    const auto shipped = (k_config_dir / "logic.yaml").string();
    const auto load = [&](std::vector<std::string> sets) {
        return chat::logic::load_logic_settings(source(shipped, std::move(sets)));
    };
    const auto message_of = [&](std::vector<std::string> sets) { return refusal_of(load, std::move(sets)); };
    const auto off = load({});
    CHECK(off.admin.port == 0);  // shipped: no listener
    CHECK(off.admin.address == "127.0.0.1");
    CHECK(off.admin.token.empty());

    temp_config token(std::string(40, 'k') + "\nignored\n");
    const auto on = load({"admin.port=18300", "admin.token_file=" + token.file.string()});
    CHECK(on.admin.port == 18300);
    CHECK(on.admin.token == std::string(40, 'k'));

    CHECK(message_of({"admin.port=18300"}).find("admin.token_file") != std::string::npos);
    CHECK(message_of({"admin.port=18300", "admin.token_file=/nonexistent/token"}).find("cannot be read") !=
          std::string::npos);
    temp_config short_token("short\n");
    CHECK(message_of({"admin.port=18300", "admin.token_file=" + short_token.file.string()}).find("32") !=
          std::string::npos);
    CHECK(message_of({"admin.port=70000"}).find("admin.port") != std::string::npos);
}
