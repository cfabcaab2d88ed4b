#pragma once

#include <charconv>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/match_mix.hpp"
#include "bench/proc_stats.hpp"

namespace chat::bench {

struct broker_address {
    std::string host;
    std::uint16_t port = 0;
};

enum class run_mode {
    dialogue,  // DIALOGUE traffic between matched pairs (open or closed loop)
    idle,      // N idle logged-in connections: broker memory per connection
    match,     // MATCH latency and rate with many accounts online
};

struct options {
    run_mode mode = run_mode::dialogue;
    std::vector<broker_address> brokers{{"127.0.0.1", 8080}};
    int threads = 1;
    std::size_t connections = 100;
    std::size_t connect_concurrency = 256;  // connections being opened and logged in at once

    // dialogue
    double rate = 0;  // total offered msg/s (open loop); 0 with closed_loop
    bool closed_loop = false;
    std::size_t window = 1;       // outstanding DIALOGUEs per connection (closed loop)
    std::size_t payload = 100;    // content bytes
    double duration = 10;         // seconds measured
    double warmup = 2;            // seconds of traffic before measuring
    double drain = 15;            // seconds to wait for answers and deliveries after sending stops
    std::size_t ack_every = 32;   // cumulative ACK after this many unacknowledged pushes...
    double ack_interval_ms = 50;  // ... or this long after the first of them

    // idle
    std::size_t idle = 0;
    std::vector<pid_t> broker_pids;
    double settle = 3;  // seconds between the last login and the memory reading

    // match
    std::size_t match_accounts = 0;
    match_loop loop = match_loop::people;  // who asks (bench/match_mix.hpp)
    std::size_t matchers = 16;          // MATCHes in flight (loops), or Next-loop clients
    std::size_t interest_matchers = 0;  // of them, naming waiters' tags (bench/match_mix.hpp)
    std::size_t match_waiters = 0;      // clients sent into the pool before the window

    std::vector<watched_process> watch;  // --watch name=pid,...
    double request_timeout = 30;         // a request unanswered this long fails the phase
    std::string json_path;
    std::string ack_log_path;  // --ack-log: every acknowledged DIALOGUE's send time and ack latency
    std::string nick = "bench";
};

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// `text` as an integer >= min_value; throws usage_error naming `flag` otherwise.
template <class T>
T parse_integer(const std::string& flag, const std::string& text, T min_value) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < min_value) {
        throw usage_error(flag + ": '" + text +
                          "' is not an integer >= " + std::to_string(min_value));
    }
    return value;
}

/// `text` as a finite number >= min_value; throws usage_error naming `flag` otherwise.
double parse_number(const std::string& flag, const std::string& text, double min_value);

/// The pieces of `text` between the separators ("a,,b" gives "a", "", "b").
std::vector<std::string> split(const std::string& text, char sep);

/// The argument after a flag; throws usage_error when there is none.
using flag_value = std::function<const std::string&()>;

/// Walks a command line (argv[0] excluded) flag by flag: `on_flag(flag, value)` reads the
/// flag's argument, if it takes one, through `value()`. Returns false at --help or -h
/// (the caller prints its usage), true once every argument is read.
bool for_each_flag(
    const std::vector<std::string>& args,
    const std::function<void(const std::string& flag, const flag_value& value)>& on_flag);

/// Parses the command line (argv[0] excluded); throws usage_error with a readable
/// message. Returns nullopt for --help (the caller prints usage_text()).
std::optional<options> parse_options(const std::vector<std::string>& args);
std::string usage_text();

}  // namespace chat::bench
