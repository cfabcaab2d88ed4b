#include "bench/options.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>

namespace chat::bench {

namespace {

broker_address parse_broker(const std::string& text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        throw usage_error("--brokers: '" + text + "' is not host:port");
    }
    broker_address b;
    b.host = text.substr(0, colon);
    b.port = parse_integer<std::uint16_t>("--brokers", text.substr(colon + 1), 1);
    return b;
}

}  // namespace

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        auto pos = text.find(sep, start);
        out.push_back(text.substr(start, pos - start));
        if (pos == std::string::npos) break;
        start = pos + 1;
    }
    return out;
}

double parse_number(const std::string& flag, const std::string& text, double min_value) {
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || !std::isfinite(value) || value < min_value) {
        throw usage_error(flag + ": '" + text +
                          "' is not a number >= " + std::to_string(min_value));
    }
    return value;
}

bool for_each_flag(
    const std::vector<std::string>& args,
    const std::function<void(const std::string& flag, const flag_value& value)>& on_flag) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& flag = args[i];
        if (flag == "--help" || flag == "-h") return false;
        const flag_value value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) throw usage_error(flag + " needs a value");
            return args[++i];
        };
        on_flag(flag, value);
    }
    return true;
}

std::string usage_text() {
    return R"(usage: chat-bench [MODE] [OPTIONS]

Load generator for the chat system: Beast WebSocket clients that create accounts,
match, and send DIALOGUEs, measuring what they see and checking every acknowledged
message is delivered once and in order (exit status 1 when not).

Modes
  (default)                 DIALOGUE traffic between matched clients; needs --rate or --closed-loop
  --idle N                  open N logged-in idle connections and report the brokers'
                            memory per connection (needs --broker-pid)
  --match-accounts N        put N accounts online, --match-waiters of them in the
                            waiting pool, then MATCH (see --match-loop); report pairings
                            (MATCH code 0) per second, the other codes, LEAVE/s and latency

Options
  --brokers H:P[,H:P]       brokers, connections spread round robin (127.0.0.1:8080)
  --connections N           clients in dialogue mode (100)
  --rate R                  open loop: R DIALOGUEs per second in total, paced evenly
                            over every (client, session) pair
  --closed-loop             each client keeps --window DIALOGUEs outstanding
  --window W                outstanding DIALOGUEs per client in closed loop (1)
  --payload BYTES           content size, with the send timestamp in it (100)
  --duration S              measured seconds (10)
  --warmup S                seconds of traffic before measuring (2)
  --drain S                 seconds to wait for answers and deliveries at the end (15)
  --ack-every N             send the cumulative ACK of a session after N pushes (32)...
  --ack-interval MS         ... or MS milliseconds after the first unacknowledged one (50)
  --threads T               client I/O threads (1)
  --connect-concurrency C   connections opened and logged in at once (256)
  --broker-pid PID[,PID]    broker process(es) whose VmRSS --idle reads
  --settle S                seconds between the last login and the memory reading (3)
  --match-loop people|next  people: M loops keep M MATCHes in flight, each MATCH from
                            the next person in turn, nobody leaves; next: M clients
                            each MATCH, LEAVE, MATCH... ("Next") (people)
  --matchers M              loops, or Next-loop clients, in --match-accounts mode (16)
  --interest-matchers K     of them, K name three waiters' tags in each MATCH (0)
  --match-waiters W         clients that first MATCH with a tag of their own ("t<i>",
                            shared with nobody), so they wait in the pool, and MATCH
                            again when taken (people) or their partner leaves (next) (0)
  --watch NAME=PID[,...]    report CPU use of these processes (and their children, for
                            a postmaster) over the measured window
  --request-timeout S       a phase fails when a request waits longer (30)
  --json FILE               write every number, raw, to FILE
  --ack-log FILE            dialogue: one line per DIALOGUE answered code 0 in the whole
                            run, "<unix ms it was due> <ack latency us>", in send order
                            (percentiles over any stretch of time: bench/retention.sh)
  --nick NAME               nickname prefix (bench)
  --help
)";
}

std::optional<options> parse_options(const std::vector<std::string>& args) {
    options o;
    bool rate_set = false;
    const bool complete =
        for_each_flag(args, [&](const std::string& flag, const flag_value& value) {
            if (flag == "--brokers") {
                o.brokers.clear();
                for (const auto& b : split(value(), ',')) o.brokers.push_back(parse_broker(b));
            } else if (flag == "--connections") {
                o.connections = parse_integer<std::size_t>(flag, value(), 2);
            } else if (flag == "--rate") {
                o.rate = parse_number(flag, value(), 0.001);
                rate_set = true;
            } else if (flag == "--closed-loop") {
                o.closed_loop = true;
            } else if (flag == "--window") {
                o.window = parse_integer<std::size_t>(flag, value(), 1);
            } else if (flag == "--payload") {
                o.payload = parse_integer<std::size_t>(flag, value(), 1);
                if (o.payload > 4096) throw usage_error("--payload: content is at most 4096 bytes");
            } else if (flag == "--duration") {
                o.duration = parse_number(flag, value(), 0.1);
            } else if (flag == "--warmup") {
                o.warmup = parse_number(flag, value(), 0);
            } else if (flag == "--drain") {
                o.drain = parse_number(flag, value(), 0);
            } else if (flag == "--ack-every") {
                o.ack_every = parse_integer<std::size_t>(flag, value(), 1);
            } else if (flag == "--ack-interval") {
                o.ack_interval_ms = parse_number(flag, value(), 1);
            } else if (flag == "--threads") {
                o.threads = parse_integer<int>(flag, value(), 1);
            } else if (flag == "--connect-concurrency") {
                o.connect_concurrency = parse_integer<std::size_t>(flag, value(), 1);
            } else if (flag == "--idle") {
                o.idle = parse_integer<std::size_t>(flag, value(), 1);
            } else if (flag == "--broker-pid") {
                for (const auto& p : split(value(), ','))
                    o.broker_pids.push_back(parse_integer<pid_t>(flag, p, 1));
            } else if (flag == "--settle") {
                o.settle = parse_number(flag, value(), 0);
            } else if (flag == "--match-accounts") {
                o.match_accounts = parse_integer<std::size_t>(flag, value(), 2);
            } else if (flag == "--match-loop") {
                const auto v = value();
                if (v == "people") {
                    o.loop = match_loop::people;
                } else if (v == "next") {
                    o.loop = match_loop::next;
                } else {
                    throw usage_error("--match-loop: people or next, not '" + v + "'");
                }
            } else if (flag == "--matchers") {
                o.matchers = parse_integer<std::size_t>(flag, value(), 1);
            } else if (flag == "--interest-matchers") {
                o.interest_matchers = parse_integer<std::size_t>(flag, value(), 0);
            } else if (flag == "--match-waiters") {
                o.match_waiters = parse_integer<std::size_t>(flag, value(), 0);
            } else if (flag == "--watch") {
                for (const auto& item : split(value(), ',')) {
                    auto eq = item.find('=');
                    if (eq == std::string::npos || eq == 0)
                        throw usage_error("--watch: '" + item + "' is not NAME=PID");
                    o.watch.push_back(
                        {item.substr(0, eq), parse_integer<pid_t>(flag, item.substr(eq + 1), 1)});
                }
            } else if (flag == "--request-timeout") {
                o.request_timeout = parse_number(flag, value(), 0.1);
            } else if (flag == "--json") {
                o.json_path = value();
            } else if (flag == "--ack-log") {
                o.ack_log_path = value();
            } else if (flag == "--nick") {
                o.nick = value();
                if (o.nick.empty() || o.nick.size() > 20)
                    throw usage_error("--nick: 1 to 20 characters");
            } else {
                throw usage_error("unknown option '" + flag + "' (see --help)");
            }
        });
    if (!complete) return std::nullopt;

    if (o.idle > 0 && o.match_accounts > 0)
        throw usage_error("--idle and --match-accounts exclude each other");
    if (o.idle > 0) {
        o.mode = run_mode::idle;
        if (o.broker_pids.empty())
            throw usage_error("--idle needs --broker-pid (the broker's VmRSS is what it measures)");
    } else if (o.match_accounts > 0) {
        o.mode = run_mode::match;
        if (o.matchers + o.match_waiters >= o.match_accounts)
            throw usage_error("--matchers plus --match-waiters must be below --match-accounts");
        if (o.interest_matchers > o.matchers)
            throw usage_error("--interest-matchers cannot exceed --matchers");
        if (o.interest_matchers > 0 && o.match_waiters == 0)
            throw usage_error("--interest-matchers name waiters' tags: they need --match-waiters");
    } else {
        o.mode = run_mode::dialogue;
        if (rate_set == o.closed_loop)
            throw usage_error("dialogue mode needs exactly one of --rate R and --closed-loop");
    }
    return o;
}

}  // namespace chat::bench
