#include "bench/ceiling/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "shared/wire/limits.hpp"

namespace chat::bench::ceiling {

bool options::runs_probe(const std::string& name) const {
    return std::find(probes.begin(), probes.end(), name) != probes.end();
}

std::string usage_text() {
    return R"(usage: chat-ceiling --pg-url URL --nats-url URL --nats-pid PID [OPTIONS]

The ceiling of the chat system on this machine: the CPU time one DIALOGUE costs in each
part of its path, measured alone with the project's own code, schema and payloads, and
the rate the machine's cores could sustain if they did nothing else:
ceiling = cores x 1e6 / (sum of the parts' microseconds per message).

  store      logic's group commit (command_handler::handle_dialogues, store_dialogues)
             on the database of --pg-url, migrated from migrations/, durable commits
  drain      the dispatcher's drainer over the inbox rows the store probe wrote
             (drain SELECT, push encoding, DELETE), pushes kept instead of published
  nats       the NATS hops of a message: broker -> logic request and reply, logic's
             wake-up (per batch), the dispatcher's push to broker.<id>.push; three
             processes with the services' connection options, plus nats-server
  websocket  a Beast server doing the broker's per-message work (read the DIALOGUE,
             parse it, write the ack and the partner's push); clients not counted

Required
  --pg-url URL              a PostgreSQL database of its own (no accounts; chat-stack up
                            --only postgres,nats makes one), as a superuser; the server
                            must run on this machine (its processes' CPU is read from /proc)
  --nats-url URL            a running nats-server
  --nats-pid PID            its pid, to read its CPU

Options
  --cores N                 cores the ceiling divides (online CPUs)
  --messages N              messages per probe (200000)
  --warmup N                messages stored and drained before measuring, so the tables
                            have rows and statistics as in a running system (20000)
  --batch B                 DIALOGUEs per store transaction (logic's dialogue_batch_max)
  --drain-batch N           inbox rows per drain (the dispatcher's batch_max)
  --drainers N              drainers sharing the partitions (the dispatcher's workers)
  --payload BYTES           content size, as chat-bench's --payload (100)
  --sessions S              sessions the messages are spread over, 2 accounts each (1000)
  --items-per-request K     DIALOGUEs per broker -> logic request (1: each alone)
  --nats-window W           requests the broker end keeps in flight (128)
  --ws-connections C        WebSocket clients, in pairs (200)
  --ws-window W             DIALOGUEs each client keeps unanswered (1)
  --ws-threads T            the WebSocket server's I/O threads (2)
  --runs R                  run every probe R times and report medians (1)
  --probes LIST             which probes, comma-separated (store,drain,nats,websocket);
                            drain needs store, nats needs both (it sends their payloads);
                            the ceiling then covers only the parts measured
  --broker-id ID            the accounts' broker id, in origins and push subjects; also the
                            prefix of the probe's command and wake-up subjects, so a chat
                            system on the same nats-server stays out of the way (a random
                            "c" + 6 hex digits, the length of a broker id such as "bench1")
  --migrations DIR          the schema (the source tree's migrations/)
  --json FILE               write every number to FILE
  --help
)";
}

std::optional<options> parse_options(const std::vector<std::string>& args) {
    options o;
    const bool complete =
        for_each_flag(args, [&](const std::string& flag, const flag_value& value) {
            if (flag == "--pg-url") {
                o.pg_url = value();
            } else if (flag == "--nats-url") {
                o.nats_url = value();
            } else if (flag == "--nats-pid") {
                o.nats_pid = parse_integer<pid_t>(flag, value(), 1);
            } else if (flag == "--cores") {
                o.cores = parse_number(flag, value(), 0.01);
            } else if (flag == "--messages") {
                o.messages = parse_integer<std::size_t>(flag, value(), 1);
            } else if (flag == "--warmup") {
                o.warmup = parse_integer<std::size_t>(flag, value(), 0);
            } else if (flag == "--batch") {
                o.batch = parse_integer<int>(flag, value(), 1);
            } else if (flag == "--drain-batch") {
                o.drain_batch = parse_integer<int>(flag, value(), 1);
            } else if (flag == "--drainers") {
                o.drainers = parse_integer<int>(flag, value(), 1);
            } else if (flag == "--payload") {
                o.payload = parse_integer<std::size_t>(flag, value(), 1);
                if (o.payload > wire::k_max_content_bytes)
                    throw usage_error("--payload: content is at most " +
                                      std::to_string(wire::k_max_content_bytes) + " bytes");
            } else if (flag == "--sessions") {
                o.sessions = parse_integer<std::size_t>(flag, value(), 1);
            } else if (flag == "--items-per-request") {
                o.items_per_request = parse_integer<int>(flag, value(), 1);
            } else if (flag == "--nats-window") {
                o.nats_window = parse_integer<std::size_t>(flag, value(), 1);
            } else if (flag == "--ws-connections") {
                o.ws_connections = parse_integer<std::size_t>(flag, value(), 2);
                if (o.ws_connections % 2 != 0)
                    throw usage_error("--ws-connections: an even number (pairs)");
            } else if (flag == "--ws-window") {
                o.ws_window = parse_integer<std::size_t>(flag, value(), 1);
            } else if (flag == "--ws-threads") {
                o.ws_threads = parse_integer<int>(flag, value(), 1);
            } else if (flag == "--runs") {
                o.runs = parse_integer<int>(flag, value(), 1);
            } else if (flag == "--probes") {
                o.probes = split(value(), ',');
                for (const auto& p : o.probes)
                    if (p != "store" && p != "drain" && p != "nats" && p != "websocket")
                        throw usage_error("--probes: no probe '" + p +
                                          "' (store, drain, nats, websocket)");
            } else if (flag == "--broker-id") {
                o.broker_id = value();
                if (o.broker_id.empty()) throw usage_error("--broker-id: empty");
            } else if (flag == "--migrations") {
                o.migrations = value();
            } else if (flag == "--json") {
                o.json_path = value();
            } else {
                throw usage_error("unknown option '" + flag + "' (see --help)");
            }
        });
    if (!complete) return std::nullopt;
    if (o.broker_id.empty())
        o.broker_id = fmt::format("c{:06x}", std::random_device{}() & 0xffffff);
    if (o.pg_url.empty() || o.nats_url.empty() || o.nats_pid == 0)
        throw usage_error("--pg-url, --nats-url and --nats-pid are required");
    if ((o.runs_probe("drain") && !o.runs_probe("store")) ||
        (o.runs_probe("nats") && !(o.runs_probe("store") && o.runs_probe("drain"))))
        throw usage_error("--probes: drain needs store, and nats needs store and drain");
    if (o.batch > 1000) throw usage_error("--batch: logic allows at most 1000");
    if (o.items_per_request > o.batch) throw usage_error("--items-per-request: at most --batch");
    return o;
}

}  // namespace chat::bench::ceiling
