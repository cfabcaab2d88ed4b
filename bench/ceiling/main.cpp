// chat-ceiling: the CPU one DIALOGUE costs in each part of its path, measured alone, and
// the ceiling that puts on the machine's throughput. See bench/README.md.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "bench/ceiling/drain_probe.hpp"
#include "bench/ceiling/nats_ends.hpp"
#include "bench/ceiling/nats_probe.hpp"
#include "bench/ceiling/options.hpp"
#include "bench/ceiling/population.hpp"
#include "bench/ceiling/report.hpp"
#include "bench/ceiling/store_probe.hpp"
#include "bench/ceiling/workload.hpp"
#include "bench/ceiling/ws_probe.hpp"
#include "bench/proc_stats.hpp"
#include "shared/db/migrations.hpp"

namespace {

using namespace chat::bench::ceiling;

/// Removes a file on scope exit.
struct scratch_file {
    std::filesystem::path path;
    ~scratch_file() {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
    }
};

/// Applies the migrations to the database of --pg-url and returns the schema version;
/// throws unless the database holds no accounts (chat-ceiling fills it with its own).
int prepare_database(const std::string& url, const std::string& migrations) {
    const int version = chat::db::migrate(url, migrations).current_version;
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    if (tx.exec1("SELECT EXISTS (SELECT 1 FROM accounts)")[0].as<bool>())
        throw std::runtime_error(
            "the database of --pg-url holds accounts: chat-ceiling needs one of its own");
    return version;
}

nlohmann::json describe(const options& o, const std::string& migrations, int schema_version) {
    pqxx::connection conn(o.pg_url);
    pqxx::nontransaction tx(conn);
    return {{"messages", o.messages},
            {"batch", o.batch},
            {"drain_batch", o.drain_batch},
            {"drainers", o.drainers},
            {"payload", o.payload},
            {"sessions", o.sessions},
            {"items_per_request", o.items_per_request},
            {"nats_window", o.nats_window},
            {"ws_connections", o.ws_connections},
            {"ws_window", o.ws_window},
            {"ws_threads", o.ws_threads},
            {"runs", o.runs},
            {"probes", o.probes},
            {"broker_id", o.broker_id},
            {"online_cpus", chat::bench::online_cpus()},
            {"migrations", migrations},
            {"schema_version", schema_version},
            {"postgres_version", tx.exec1("SHOW server_version")[0].as<std::string>()},
            {"synchronous_commit", tx.exec1("SHOW synchronous_commit")[0].as<std::string>()},
            {"fsync", tx.exec1("SHOW fsync")[0].as<std::string>()}};
}

int run(const options& o) {
    const double cores = o.cores > 0 ? o.cores : chat::bench::online_cpus();
    const std::string migrations =
        o.migrations.empty() ? std::string(CHAT_SOURCE_DIR) + "/migrations" : o.migrations;
    auto progress = [](const std::string& what) {
        std::fprintf(stderr, "chat-ceiling: %s\n", what.c_str());
    };

    progress("migrating " + o.pg_url);
    const int schema_version = prepare_database(o.pg_url, migrations);
    progress(fmt::format("schema version {}; {} accounts in {} sessions", schema_version,
                         2 * o.sessions, o.sessions));
    const std::string& db = o.pg_url;
    const auto people = populate(db, o.sessions, o.broker_id);
    request_source source(people, o.payload, o.items_per_request);
    if (o.warmup > 0 && o.runs_probe("store")) {
        progress(fmt::format(
            "warm-up: {} messages stored and drained, unmeasured; then VACUUM ANALYZE", o.warmup));
        recording unused;
        run_store_probe(db, source, o.warmup, o.batch, unused);
        run_drain_probe(db, o.drain_batch, o.drainers, unused.messages(), unused);
        settle(db);
    }
    scratch_file payloads{std::filesystem::temp_directory_path() /
                          ("chat-ceiling-" + std::to_string(::getpid()) + ".payloads")};

    std::vector<std::vector<probe_run>> runs(static_cast<std::size_t>(o.runs));
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const auto step = [&](const char* what) {
            progress(fmt::format("run {}/{}: {}", r + 1, runs.size(), what));
        };
        recording rec;
        if (o.runs_probe("store")) {
            step("store");
            runs[r].push_back(run_store_probe(db, source, o.messages, o.batch, rec));
        }
        if (o.runs_probe("drain")) {
            step("drain");
            runs[r].push_back(
                run_drain_probe(db, o.drain_batch, o.drainers, rec.messages(), rec));
        }
        if (o.runs_probe("nats")) {
            step("nats");
            runs[r].push_back(run_nats_probe(o, rec, payloads.path));
        }
        if (o.runs_probe("websocket")) {
            step("websocket");
            runs[r].push_back(run_ws_probe(o));
        }
    }

    const auto s = summarize(runs, cores);
    auto header = fmt::format(
        "chat-ceiling: {} messages per probe, store batch {}, drain batch {}, payload {} B, {} "
        "sessions, {} item(s) "
        "per request, NATS window {}, WebSocket {} clients x window {} on {} server thread(s); {} "
        "run(s)",
        o.messages, o.batch, o.drain_batch, o.payload, o.sessions, o.items_per_request,
        o.nats_window, o.ws_connections, o.ws_window, o.ws_threads, o.runs);
    if (o.probes.size() < 4)
        header += fmt::format("\nONLY the probes {}: the ceiling leaves the others out",
                              fmt::join(o.probes, ","));
    std::fputs(format_table(s, header).c_str(), stdout);
    std::fflush(stdout);
    if (!o.json_path.empty()) {
        std::ofstream file(o.json_path);
        file << to_json(s, runs, describe(o, migrations, schema_version)).dump(2) << '\n';
        if (!file) throw std::runtime_error("cannot write " + o.json_path);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);  // a child that died must fail a write, not kill us
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (!args.empty() && args[0] == "nats-end")
            return run_nats_end({args.begin() + 1, args.end()});
        const auto o = parse_options(args);
        if (!o) {
            std::fputs(usage_text().c_str(), stdout);
            return 0;
        }
        return run(*o);
    } catch (const chat::bench::usage_error& e) {
        std::fprintf(stderr, "chat-ceiling: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chat-ceiling: FAILED: %s\n", e.what());
        return 1;
    }
}
