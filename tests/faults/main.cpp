// chat-faults: steady two-way chat between many clients while the system's processes
// are killed with SIGKILL and restarted, one at a time; then one summary line.
//
//   chat-faults [--cluster] [--clients N] [--rate MSG_PER_S]
//               [--faults logic,dispatcher,broker,nats,postgres,rolling]
//               [--dispatchers N] [--warmup S] [--steady S] [--down S] [--infra-down S]
//               [--recovery S] [--settle S] [--grace DURATION] [--bin-dir DIR] [--work-dir DIR]
//
// --cluster runs on the cluster of `dev.sh up --cluster` (stack::cluster_shape) and kills
// one node of each kind in turn: a NATS node, a broker, a logic process, a dispatcher and
// the PostgreSQL primary (the HA manager promotes the standby), then SIGTERMs a broker
// (a rolling restart). For every fault it prints how long until the first message
// written after it was acknowledged, and the longest gap in acknowledgements.
//
// The last line printed is always
//   faults: sent N acknowledged N delivered N lost N duplicated N out_of_order N
// and the exit code is 0 only when lost, duplicated and out_of_order are 0 and every
// fault was recovered from. See docs/operations.md, "Fault suite".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "deploy/stack/system.hpp"
#include "tests/faults/fleet.hpp"
#include "tests/faults/ledger.hpp"
#include "tests/support/stack.hpp"

namespace chat::faults {
namespace {

using namespace std::chrono_literals;
using seconds_d = std::chrono::duration<double>;

struct run_options {
    bool cluster = false;
    int clients = 40;
    double rate = 10;
    int dispatchers = 2;
    std::vector<std::string> faults{"logic", "dispatcher", "broker", "nats", "postgres"};
    double warmup = 8;
    double steady = 6;
    double down = 2;        // logic, dispatchers, broker
    double infra_down = 5;  // nats-server, PostgreSQL: longer than presence.broker_timeout
    double recovery = 45;
    double settle = 30;
    std::string grace = "30s";
    std::filesystem::path bin_dir = test::bin_dir();
    std::filesystem::path work_dir;  // empty: a temp dir (kept with CHAT_TEST_KEEP=1)
    std::string log_level = "info";
};

const steady::time_point g_start = steady::now();

void say(const std::string& text) {
    double t = seconds_d(steady::now() - g_start).count();
    std::printf("faults: [%6.1fs] %s\n", t, text.c_str());
    std::fflush(stdout);
}

std::string fixed(double value, int decimals = 1) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

std::chrono::milliseconds ms(double s) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
}

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(
        stderr,
        "chat-faults: %s\n"
        "usage: chat-faults [--cluster] [--clients N] [--rate MSG_PER_S] [--faults a,b,...]\n"
        "                   [--dispatchers N] [--warmup S] [--steady S] [--down S]\n"
        "                   [--infra-down S] [--recovery S] [--settle S] [--grace DURATION]\n"
        "                   [--bin-dir DIR] [--work-dir DIR] [--log-level LEVEL]\n"
        "faults: logic, dispatcher, broker, nats, postgres, rolling (in the order given;\n"
        "default: logic,dispatcher,broker,nats,postgres, with --cluster\n"
        "nats,broker,logic,dispatcher,postgres,rolling)\n",
        problem.c_str());
    std::exit(2);
}

run_options parse(int argc, char** argv) {
    run_options o;
    bool faults_given = false;
    for (int i = 1; i < argc; ++i) {
        std::string name = argv[i];
        if (name == "-h" || name == "--help") usage("help");
        if (name == "--cluster") {
            o.cluster = true;
            continue;
        }
        if (i + 1 >= argc) usage(name + " needs a value");
        std::string value = argv[++i];
        try {
            if (name == "--clients")
                o.clients = std::stoi(value);
            else if (name == "--rate")
                o.rate = std::stod(value);
            else if (name == "--dispatchers")
                o.dispatchers = std::stoi(value);
            else if (name == "--warmup")
                o.warmup = std::stod(value);
            else if (name == "--steady")
                o.steady = std::stod(value);
            else if (name == "--down")
                o.down = std::stod(value);
            else if (name == "--infra-down")
                o.infra_down = std::stod(value);
            else if (name == "--recovery")
                o.recovery = std::stod(value);
            else if (name == "--settle")
                o.settle = std::stod(value);
            else if (name == "--grace")
                o.grace = value;
            else if (name == "--bin-dir")
                o.bin_dir = value;
            else if (name == "--work-dir")
                o.work_dir = value;
            else if (name == "--log-level")
                o.log_level = value;
            else if (name == "--faults") {
                faults_given = true;
                o.faults.clear();
                std::istringstream in(value);
                for (std::string f; std::getline(in, f, ',');) {
                    if (f != "logic" && f != "dispatcher" && f != "broker" && f != "nats" &&
                        f != "postgres" && f != "rolling" && f != "none")
                        usage("unknown fault '" + f + "'");
                    if (f != "none") o.faults.push_back(f);
                }
            } else {
                usage("unknown option " + name);
            }
        } catch (const std::invalid_argument&) {
            usage("bad value for " + name + ": " + value);
        }
    }
    if (o.clients < 2 || o.rate <= 0 || o.dispatchers < 1)
        usage("bad --clients, --rate or --dispatchers");
    if (o.cluster && !faults_given) o.faults = {"nats", "broker", "logic", "dispatcher", "postgres", "rolling"};
    return o;
}

// Log lines that show a service noticed an outage and came back by itself.
struct log_check {
    std::string name;
    test::child_process* process;
    std::uintmax_t offset;
};

std::vector<log_check> mark_logs(stack::system& stack, bool brokers_too) {
    std::vector<log_check> marks;
    for (auto& s : stack.services()) {
        if (!brokers_too && s.name.rfind("broker", 0) == 0) continue;
        std::error_code ec;
        auto size = std::filesystem::file_size(s.process->log_file(), ec);
        marks.push_back({s.name, s.process.get(), ec ? 0 : size});
    }
    return marks;
}

// Returns the services whose log since the mark has no line matching `pattern`.
std::vector<std::string> check_logs(const std::vector<log_check>& marks, const std::regex& pattern,
                                    std::string& example) {
    std::vector<std::string> silent;
    for (auto& m : marks) {
        auto text = test::read_file(m.process->log_file());
        text = m.offset < text.size() ? text.substr(m.offset) : std::string();
        std::istringstream in(text);
        bool found = false;
        for (std::string line; std::getline(in, line);) {
            if (std::regex_search(line, pattern)) {
                found = true;
                if (example.empty()) example = m.name + ": " + line;
                break;
            }
        }
        if (!found) silent.push_back(m.name);
    }
    return silent;
}

class run {
  public:
    explicit run(run_options o) : options_(std::move(o)) {}

    int execute() {
        std::optional<test::temp_dir> temp;
        std::filesystem::path dir = options_.work_dir;
        if (dir.empty()) {
            temp.emplace("chat-faults");
            dir = temp->path();
            // PostgreSQL runs as user postgres (as root) and must pass through it.
            std::filesystem::permissions(dir, std::filesystem::perms::others_exec,
                                         std::filesystem::perm_options::add);
        } else {
            // Emptied only when an earlier run made it: a mistyped path loses nothing.
            auto marker = dir / ".chat-faults";
            if (std::filesystem::exists(dir) && !std::filesystem::is_empty(dir) &&
                !std::filesystem::exists(marker)) {
                usage("--work-dir " + dir.string() + " is not empty and not an earlier run's");
            }
            std::filesystem::remove_all(dir);
            std::filesystem::create_directories(dir);
            test::write_file(marker, "logs of the last chat-faults run; emptied by the next\n");
        }
        try {
            body(dir);
        } catch (const std::exception& e) {
            failures_.push_back(std::string("error: ") + e.what());
            say(std::string("ERROR: ") + e.what());
            if (stack_) std::printf("%s\n", stack_->logs(15).c_str());
        }
        std::map<std::string, std::uint64_t> counters;
        if (fleet_) {
            counters = fleet_->stats().counters;
            fleet_->stop();
        }
        auto result = book_.compute();
        bool passed = report(result, counters);
        std::printf("faults: %s\n", result.line().c_str());
        std::fflush(stdout);
        // The services stop here (SIGTERM) as the stack goes; nothing more is printed.
        fleet_.reset();
        stack_.reset();
        return passed ? 0 : 1;
    }

  private:
    void body(const std::filesystem::path& dir) {
        // deploy/config/*.yaml with timings short enough for a fault every few seconds;
        // rate limits off (every client comes from 127.0.0.1).
        stack::options settings;
        settings.dir = dir;
        settings.bin_dir = options_.bin_dir;
        settings.brokers = 2;
        settings.logics = 2;
        settings.dispatchers = options_.dispatchers;
        if (options_.cluster) {
            stack::cluster_shape(settings);
            settings.pg_fast_failover = true;  // promote the standby within seconds
        }
        settings.sets = {"presence.grace=" + options_.grace,
                         "presence.broker_timeout=3s",
                         "presence.sweep_interval=500ms",
                         "broker.request_timeout=3s",
                         "broker.heartbeat_interval=500ms",
                         "ping.interval=2s",
                         "ping.max_wait=8s",
                         "limits.messages_per_second=0",
                         "limits.account_messages_per_second=0",
                         "limits.accounts_per_minute_per_address=0",
                         "limits.connections_per_minute_per_address=0",
                         "dispatcher.sweep_interval=500ms",
                         "dispatcher.rebalance_interval=1s",
                         "log.level=" + options_.log_level};
        if (options_.cluster)
            say("starting the cluster: 3 NATS nodes, PostgreSQL with automatic failover, 2 logic, 2 "
                "dispatchers, 2 brokers behind nginx, from " + options_.bin_dir.string() + "; logs in " +
                dir.string());
        else
            say("starting: private PostgreSQL, nats-server, 2 logic, " +
                std::to_string(options_.dispatchers) + " dispatcher(s), 2 brokers from " +
                options_.bin_dir.string() + "; logs in " + dir.string());
        stack_ = std::make_unique<stack::system>(settings);
        say("presence.grace " + options_.grace + " configured");

        fleet_options fo;
        for (std::size_t i = 0; i < stack_->count(stack::service_kind::broker); ++i)
            fo.broker_ports.push_back(stack_->broker_port(i));
        fo.clients = options_.clients;
        fo.rate = options_.rate;
        fleet_ = std::make_unique<fleet>(fo, book_);
        fleet_->start(30s);
        auto sessions = fleet_->match_all(60s);
        say(std::to_string(options_.clients) + " clients logged in, " + std::to_string(sessions) +
            " sessions; traffic at " + fixed(options_.rate, 0) + " msg/s per client");
        fleet_->set_auto_match(true);
        book_.begin_phase("warm-up");
        fleet_->set_traffic(true);
        sleep(options_.warmup);
        progress("warm-up done");

        int number = 0;
        for (auto& fault : options_.faults) {
            ++number;
            everyone_back_ = -1;
            auto at = inject(fault, number);
            sleep(options_.steady);
            progress("steady after " + fault);
            auto r = book_.recovery_after(at, steady::now());
            recoveries_.push_back(fault + ": first new message acknowledged " +
                                  (r.first_ack ? fixed(r.first_ack->count() / 1000.0, 2) + "s" : std::string("never")) +
                                  " after the fault; longest gap in acknowledgements " +
                                  fixed(r.longest_gap.count() / 1000.0, 2) + "s; every client writing and reading again " +
                                  (everyone_back_ < 0 ? std::string("never") : fixed(everyone_back_, 2) + "s") +
                                  (options_.cluster ? " after it, without the lost node" : " after it"));
            say("recovery of " + recoveries_.back());
        }

        fleet_->set_traffic(false);
        fleet_->set_auto_match(false);
        settle();
    }

    void sleep(double s) { std::this_thread::sleep_for(ms(s)); }

    void progress(const std::string& what) {
        auto t = book_.current();
        auto all = fleet_->status();
        int ready = 0;
        std::size_t pending = 0;
        for (auto& c : all) {
            ready += c.ready;
            pending += c.pending;
        }
        say(what + ": sent " + std::to_string(t.sent) + " acknowledged " +
            std::to_string(t.acknowledged) + " shown " + std::to_string(t.pushes) + " retries " +
            std::to_string(t.retries) + " redelivered " + std::to_string(t.redelivered) +
            " pending " + std::to_string(pending) + " clients ready " + std::to_string(ready) +
            "/" + std::to_string(all.size()));
    }

    // The broker with the most clients, so that most of them must move.
    std::size_t busiest_broker() {
        std::vector<int> load(stack_->count(stack::service_kind::broker), 0);
        for (auto& c : fleet_->status())
            if (c.broker >= 0) ++load[static_cast<std::size_t>(c.broker)];
        return static_cast<std::size_t>(std::max_element(load.begin(), load.end()) - load.begin());
    }

    // The NATS node with the most clients (services included).
    std::string busiest_nats_node() {
        std::size_t best = 0;
        int most = -1;
        for (std::size_t i = 0; i < stack_->nats_count(); ++i) {
            auto connz = stack_->nats(i).monitor("/connz");
            int n = connz.is_object() ? connz.value("num_connections", 0) : 0;
            if (n > most) most = n, best = i;
        }
        return stack_->nats(best).name();
    }

    // Who a fault hits: logic-1; every dispatcher (in the cluster only dispatcher-1, the
    // other one takes over); the busiest broker; the NATS node (in the cluster the busiest
    // one); the PostgreSQL primary; for "rolling" the busiest broker, with SIGTERM.
    std::vector<std::string> victims(const std::string& fault) {
        using stack::service_kind;
        if (fault == "logic") return {stack_->get(service_kind::logic, 0).name};
        if (fault == "dispatcher") {
            std::vector<std::string> all;
            for (std::size_t i = 0; i < stack_->count(service_kind::dispatcher); ++i)
                if (i == 0 || !options_.cluster) all.push_back(stack_->get(service_kind::dispatcher, i).name);
            return all;
        }
        if (fault == "broker" || fault == "rolling")
            return {stack_->get(service_kind::broker, busiest_broker()).name};
        if (fault == "nats") return {busiest_nats_node()};
        return {stack_->postgres_primary()};
    }

    // Hits, waits, starts again; returns when the fault hit.
    steady::time_point inject(const std::string& fault, int number) {
        std::string head = "fault " + std::to_string(number) + "/" +
                           std::to_string(options_.faults.size()) + " " + fault + ": ";
        std::vector<log_check> marks;
        std::regex pattern;
        std::string expect;
        book_.begin_phase(std::to_string(number) + " " + fault);
        if (fault == "nats" && !options_.cluster) {
            // Every service loses its only node. (In the cluster, only those on the killed
            // node move, to another one.)
            marks = mark_logs(*stack_, true);
            pattern = std::regex("connected to nats", std::regex::icase);
            expect = "a line saying it (re)connected to NATS";
        } else if (fault == "postgres") {
            marks = mark_logs(*stack_, false);
            pattern = std::regex(
                "(postgres|database).*(reconnect|connected)|(reconnect|connected).*(postgres|"
                "database)",
                std::regex::icase);
            expect = "a line saying it reconnects to PostgreSQL";
        }
        auto names = victims(fault);
        // "logic-1 (pid 123), ..." as they are now.
        auto describe = [&] {
            std::string list;
            for (auto& n : names) list += (list.empty() ? "" : ", ") + n + " (pid " + std::to_string(stack_->pid_of(n)) + ")";
            return list;
        };
        std::string list = describe();
        // nats-server and PostgreSQL stay down longer than presence.broker_timeout (3 s):
        // an outage of the infrastructure must not look like dead brokers.
        bool infra = fault == "nats" || fault == "postgres";
        auto hit = steady::now();
        if (fault == "rolling") {
            say(head + "SIGTERM " + list + ": a rolling restart, its clients are told to reconnect (1012)");
            for (auto& n : names) stack_->stop(n);
            say(head + "stopped after " + fixed(seconds_d(steady::now() - hit).count()) + "s");
        } else {
            say(head + "kill -9 " + list);
            for (auto& n : names) stack_->kill9(n);
        }
        auto since_hit = [&] { return fixed(seconds_d(steady::now() - hit).count()); };
        std::string waiting;
        if (options_.cluster) {
            // The cluster must carry on without the lost node: the clients recover while
            // it is still down (a promoted standby, the other broker, NATS node, logic or
            // dispatcher), and only then is it started again.
            if (test::wait_until([&] { return clients_recovered(hit, waiting); }, ms(options_.recovery), 100ms)) {
                everyone_back_ = seconds_d(steady::now() - hit).count();
                progress(head + "clients recovered without it after " + since_hit() + "s");
            } else {
                failures_.push_back(fault + ": clients did not recover without " + list + ": " + waiting);
                say(head + "NOT RECOVERED without it after " + since_hit() + "s: " + waiting);
            }
        } else if (fault != "rolling") {
            std::this_thread::sleep_until(hit + ms(infra ? options_.infra_down : options_.down));
        }
        for (auto& n : names) stack_->start(n, false);
        list = describe();
        say(head + "started again: " + list +
            (fault == "postgres" && options_.cluster ? "; the primary is now " + stack_->postgres_primary()
                                                     : std::string()));
        auto restarted_at = steady::now();
        auto elapsed = [&] { return fixed(seconds_d(steady::now() - restarted_at).count()); };

        auto missing = stack_->wait_ready(ms(options_.recovery));
        if (!missing.empty()) {
            failures_.push_back(fault + ": services not ready: " + missing);
            say(head + "NOT RECOVERED: services not ready after " + elapsed() + "s: " + missing);
            say(stack_->logs(10));
            return hit;
        }
        say(head + "services ready after " + elapsed() + "s");

        bool recovered = test::wait_until([&] { return clients_recovered(restarted_at, waiting); },
                                          ms(options_.recovery), 100ms);
        if (!recovered) {
            failures_.push_back(fault + ": clients did not recover: " + waiting);
            say(head + "NOT RECOVERED: after " + elapsed() + "s " + waiting);
        } else {
            progress(head + "clients recovered after " + elapsed() + "s");
            if (!options_.cluster) everyone_back_ = seconds_d(steady::now() - hit).count();
        }

        if (!marks.empty()) {
            std::string example;
            auto silent = check_logs(marks, pattern, example);
            if (silent.empty()) {
                say(head + "every service logged " + expect + ", e.g. " + example);
            } else {
                std::string names;
                for (auto& n : silent) names += (names.empty() ? "" : ", ") + n;
                failures_.push_back(fault + ": no log line of reconnecting in " + names);
                say(head + "MISSING in the log of " + names + ": " + expect);
            }
        }
        return hit;
    }

    // Every client is logged in, and every client with a session has had a message it
    // wrote after the restart acknowledged and been shown one its partner wrote after it.
    bool clients_recovered(steady::time_point since, std::string& waiting) {
        int not_ready = 0, no_ack = 0, no_push = 0, dead = 0, no_session = 0;
        std::string example;
        for (auto& c : fleet_->status()) {
            std::string who = "c" + std::to_string(c.index);
            if (c.dead) {
                ++dead;
                if (example.empty()) example = who + " gave up: " + c.last_drop;
            } else if (!c.ready) {
                ++not_ready;
                if (example.empty()) example = who + " not logged in (" + c.last_drop + ")";
            } else if (c.open_sessions == 0 && c.last_match_code != 13) {
                // Nobody to talk to is fine only while MATCH says it is waiting for someone.
                ++no_session;
                if (example.empty())
                    example = who + " has no session (last MATCH code " +
                              std::to_string(c.last_match_code) + ")";
            } else if (c.open_sessions > 0 && c.last_acked_first_sent < since) {
                ++no_ack;
                if (example.empty())
                    example = who + " has no new message acknowledged (" +
                              std::to_string(c.pending) + " pending)";
            } else if (c.open_sessions > 0 && c.last_shown_first_sent < since) {
                ++no_push;
                if (example.empty()) example = who + " was shown no new message";
            }
        }
        waiting = std::to_string(dead) + " clients gave up, " + std::to_string(not_ready) +
                  " not logged in, " + std::to_string(no_ack) + " without a new acknowledgement, " +
                  std::to_string(no_push) + " without a new push, " + std::to_string(no_session) +
                  " without a session" + (example.empty() ? "" : "; e.g. " + example);
        return dead + not_ready + no_ack + no_push + no_session == 0;
    }

    // Traffic has stopped: let the clients get answers for what they still hold, then
    // let every acknowledged message reach its receiver.
    void settle() {
        auto started = steady::now();
        say("traffic stopped; waiting up to " + fixed(options_.settle, 0) +
            "s for answers and deliveries");
        auto pending = [&] {
            std::size_t n = 0;
            for (auto& c : fleet_->status()) n += c.pending;
            return n;
        };
        test::wait_until([&] { return pending() == 0; }, ms(options_.settle / 2), 100ms);
        // Deliveries: done when nothing is missing, or when nothing new arrived for 5 s.
        auto deadline = started + ms(options_.settle);
        auto last = book_.current().pushes;
        auto last_change = steady::now();
        while (steady::now() < deadline) {
            std::this_thread::sleep_for(250ms);
            auto now_pushes = book_.current().pushes;
            if (now_pushes != last) {
                last = now_pushes;
                last_change = steady::now();
            }
            bool quiet = steady::now() - last_change > 1500ms;
            if (quiet && book_.compute().lost == 0) break;
            if (steady::now() - last_change > 5s) break;
        }
        std::size_t left = pending();
        if (left > 0) {
            failures_.push_back(std::to_string(left) +
                                " DIALOGUEs still unanswered after the settle period");
        }
        progress("settled after " + fixed(seconds_d(steady::now() - started).count()) + "s");
    }

    // Prints everything but the summary line; true when the run passed.
    bool report(const summary& result, const std::map<std::string, std::uint64_t>& counters) {
        for (auto& p : result.phases) {
            if (p.sent == 0 && p.out_of_order == 0 && p.redelivered == 0) continue;
            std::printf(
                "faults: phase %-12s sent %llu acknowledged %llu delivered %llu lost %llu "
                "duplicated %llu out_of_order %llu retries %llu redelivered %llu\n",
                p.name.c_str(), (unsigned long long)p.sent, (unsigned long long)p.acknowledged,
                (unsigned long long)p.delivered, (unsigned long long)p.lost,
                (unsigned long long)p.duplicated, (unsigned long long)p.out_of_order,
                (unsigned long long)p.retries, (unsigned long long)p.redelivered);
        }
        for (auto& r : recoveries_) std::printf("faults: recovery %s\n", r.c_str());
        for (auto& e : result.examples) std::printf("faults: example: %s\n", e.c_str());
        std::string events;
        for (auto& [name, count] : counters)
            events += (events.empty() ? "" : ", ") + name + " " + std::to_string(count);
        std::printf("faults: client events: %s\n", events.c_str());
        std::vector<std::string> reasons = failures_;
        if (result.lost) reasons.push_back("lost " + std::to_string(result.lost));
        if (result.duplicated) reasons.push_back("duplicated " + std::to_string(result.duplicated));
        if (result.out_of_order)
            reasons.push_back("out_of_order " + std::to_string(result.out_of_order));
        // Guarantees of docs/protocol.md beyond the three numbers.
        if (result.send_order_violations)
            reasons.push_back("send_order_violations " +
                              std::to_string(result.send_order_violations));
        if (result.misrouted) reasons.push_back("misrouted " + std::to_string(result.misrouted));
        if (reasons.empty()) {
            std::printf("faults: PASSED (%zu faults)\n", options_.faults.size());
        } else {
            for (auto& r : reasons) std::printf("faults: FAILED: %s\n", r.c_str());
        }
        std::printf("faults: %s\n", result.info_line().c_str());
        return reasons.empty();
    }

    run_options options_;
    ledger book_;
    std::unique_ptr<stack::system> stack_;
    std::unique_ptr<fleet> fleet_;
    std::vector<std::string> failures_;
    std::vector<std::string> recoveries_;  // one line per fault
    double everyone_back_ = -1;            // s from the last fault until every client recovered
};

}  // namespace
}  // namespace chat::faults

int main(int argc, char** argv) {
    auto options = chat::faults::parse(argc, argv);
    return chat::faults::run(std::move(options)).execute();
}
