#include "bench/report.hpp"

#include <fmt/format.h>

namespace chat::bench {

namespace {

using json = nlohmann::json;

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string latency_row(const std::string& name, const histogram& h) {
    if (h.count() == 0) return fmt::format("  {:<18} {:>9}   (no samples)\n", name, 0);
    return fmt::format("  {:<18} {:>9} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f}\n",
                       name, h.count(), ms(h.percentile(50)), ms(h.percentile(90)),
                       ms(h.percentile(99)), ms(h.percentile(99.9)), ms(h.max()), h.mean() / 1e6);
}

std::string latency_header() {
    return fmt::format("  {:<18} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}   (ms)\n", "latency",
                       "count", "p50", "p90", "p99", "p99.9", "max", "mean");
}

std::string login_row(const login_report& l) {
    return fmt::format(
        "  {:<18} {} of {} in {:.2f} s ({:.0f} accounts/s); connect+CRT_ACCOUNT p50 {:.2f} ms, p99 "
        "{:.2f} ms\n",
        "logins", l.logged_in, l.requested, l.seconds,
        static_cast<double>(l.logged_in) / std::max(l.seconds, 1e-9), ms(l.latency.percentile(50)),
        ms(l.latency.percentile(99)));
}

std::string events_rows(const event_counts& events) {
    if (events.empty()) return fmt::format("  {:<18} none\n", "events");
    std::string out;
    bool first = true;
    for (const auto& [what, n] : events) {
        out += fmt::format("  {:<18} {} x{}\n", first ? "events" : "", what, n);
        first = false;
    }
    return out;
}

std::string cpu_rows(const cpu_meter::result& cpu) {
    std::string out = fmt::format("  {:<18} ", "cpu (window)");
    for (const auto& p : cpu.processes) {
        if (p.percent_of_one_cpu < 0) {
            out += fmt::format("{} gone, ", p.name);
        } else {
            out += fmt::format("{} {:.0f}%, ", p.name, p.percent_of_one_cpu);
        }
    }
    out += fmt::format("chat-bench {:.0f}% (of one CPU); machine {:.0f}% busy over {} CPUs\n",
                       cpu.self_percent, cpu.machine_busy_percent, online_cpus());
    return out;
}

// The end of a dialogue or match table: examples of what failed verification, events,
// CPU, the verdict and why.
std::string outcome_rows(const std::vector<std::string>& examples, const event_counts& events,
                         const cpu_meter::result& cpu, bool passed,
                         const std::vector<std::string>& failures) {
    std::string t;
    for (const auto& ex : examples) t += fmt::format("  {:<18} {}\n", "", ex);
    t += events_rows(events);
    t += cpu_rows(cpu);
    t += fmt::format("  {:<18} {}\n", "result", passed ? "PASS" : "FAIL");
    for (const auto& f : failures) t += fmt::format("  {:<18} FAILED: {}\n", "", f);
    return t;
}

json cpu_json(const cpu_meter::result& cpu) {
    json j = {{"seconds", cpu.seconds},
              {"self_percent", cpu.self_percent},
              {"machine_busy_percent", cpu.machine_busy_percent},
              {"cpus", online_cpus()}};
    for (const auto& p : cpu.processes) {
        j["processes"][p.name] = {{"pid", p.pid}, {"percent_of_one_cpu", p.percent_of_one_cpu}};
    }
    return j;
}

json login_json(const login_report& l) {
    return {{"requested", l.requested}, {"logged_in", l.logged_in},
            {"failed", l.failed},       {"seconds", l.seconds},
            {"failures", l.failures},   {"latency_ns", histogram_json(l.latency)}};
}

std::string brokers_text(const options& o) {
    std::string out;
    for (const auto& b : o.brokers)
        out += (out.empty() ? "" : ",") + b.host + ":" + std::to_string(b.port);
    return out;
}

}  // namespace

json histogram_json(const histogram& h) {
    json buckets = json::array();
    for (std::size_t i = 0; i < h.bucket_count(); ++i) {
        if (auto n = h.bucket_value_count(i))
            buckets.push_back({h.bucket_lowest(i), h.bucket_highest(i), n});
    }
    return {{"count", h.count()},
            {"min", h.min()},
            {"mean", h.mean()},
            {"p50", h.percentile(50)},
            {"p90", h.percentile(90)},
            {"p99", h.percentile(99)},
            {"p99_9", h.percentile(99.9)},
            {"max", h.max()},
            {"clamped", h.clamped()},
            {"buckets_lowest_highest_count", buckets}};
}

report_output describe(const options& o, const dialogue_report& r) {
    report_output out;
    const double secs = r.seconds;
    const auto& v = r.check;
    std::vector<std::string> failures;
    if (!v.ok()) failures.push_back("messages lost, duplicated or out of order");
    if (r.unanswered > 0)
        failures.push_back(fmt::format("{} DIALOGUEs never answered", r.unanswered));
    auto dropped = std::count_if(r.events.begin(), r.events.end(), [](const auto& e) {
        return e.first.rfind("connection dropped", 0) == 0;
    });
    if (dropped > 0) failures.push_back("connections dropped during the run");
    if (r.window_acked == 0) failures.push_back("nothing was acknowledged in the measured window");
    if (auto it = r.events.find("PUSH_SIGNAL PartnerExit"); it != r.events.end()) {
        // No client leaves during a run: the server took benchmark accounts offline.
        failures.push_back(
            fmt::format("{} sessions ended during the run (PartnerExit) although no client left; "
                        "look for 'accounts of silent brokers are away' in logic's log",
                        it->second));
    }
    out.passed = failures.empty();

    std::string mode = o.closed_loop ? fmt::format("closed loop, window {} per client", o.window)
                                     : fmt::format("open loop, {:.0f} msg/s offered", o.rate);
    std::string& t = out.table;
    t += fmt::format(
        "chat-bench dialogue: {} clients on {} broker(s), {} sessions ({} sending slots, {} "
        "clients), {}, "
        "payload {} B, {:.1f} s measured after {:.1f} s warm-up\n",
        r.login.requested, o.brokers.size(), r.sessions, r.slots, r.active_clients, mode, o.payload,
        secs, o.warmup);
    t += login_row(r.login);
    t += fmt::format(
        "  {:<18} sent {:.0f}/s, acked {:.0f}/s, delivered {:.0f}/s (messages sent in the "
        "window)\n",
        "throughput", static_cast<double>(r.window_sent) / secs,
        static_cast<double>(r.window_acked) / secs, static_cast<double>(r.window_delivered) / secs);
    t += latency_header();
    t += latency_row("ack", r.ack_latency);
    t += latency_row("delivery", r.delivery_latency);
    t += fmt::format(
        "  {:<18} sent {}, acked {}, errors {}, unanswered {}, deliveries {}, not sent {} (whole "
        "run; "
        "drain {:.1f} s)\n",
        "totals", r.sent, r.acked, r.errors, r.unanswered, r.deliveries, r.not_sent,
        r.drain_seconds);
    t += fmt::format(
        "  {:<18} sessions {}, acked {}, delivered {}, lost {}, duplicated {}, out_of_order {}, "
        "send_order_violations {}, msg_id_conflicts {}, delivered_unacked {}, unchecked sides {}\n",
        "verification", v.sessions, v.acked, v.delivered, v.lost, v.duplicated, v.out_of_order,
        v.send_order_violations, v.msg_id_conflicts, v.delivered_unacked, v.half_sessions);
    t += outcome_rows(v.examples, r.events, r.cpu, out.passed, failures);

    out.line = fmt::format(
        "chat-bench: mode=dialogue brokers={} clients={} sessions={} loop={} offered={:.0f} "
        "window={} payload={} "
        "sent_per_s={:.0f} acked_per_s={:.0f} delivered_per_s={:.0f} ack_p50_ms={:.2f} "
        "ack_p99_ms={:.2f} "
        "ack_max_ms={:.2f} delivery_p50_ms={:.2f} delivery_p99_ms={:.2f} delivery_max_ms={:.2f} "
        "errors={} "
        "unanswered={} lost={} duplicated={} out_of_order={} result={}",
        o.brokers.size(), r.login.logged_in, r.sessions, o.closed_loop ? "closed" : "open",
        r.offered_rate, o.closed_loop ? o.window : 0, o.payload,
        static_cast<double>(r.window_sent) / secs, static_cast<double>(r.window_acked) / secs,
        static_cast<double>(r.window_delivered) / secs, ms(r.ack_latency.percentile(50)),
        ms(r.ack_latency.percentile(99)), ms(r.ack_latency.max()),
        ms(r.delivery_latency.percentile(50)), ms(r.delivery_latency.percentile(99)),
        ms(r.delivery_latency.max()), r.errors, r.unanswered, v.lost, v.duplicated, v.out_of_order,
        out.passed ? "PASS" : "FAIL");

    out.raw = {
        {"mode", "dialogue"},
        {"brokers", brokers_text(o)},
        {"clients", r.login.requested},
        {"threads", o.threads},
        {"loop", o.closed_loop ? "closed" : "open"},
        {"offered_rate", r.offered_rate},
        {"window_per_client", o.window},
        {"payload", o.payload},
        {"warmup_s", o.warmup},
        {"duration_s", secs},
        {"login", login_json(r.login)},
        {"sessions", r.sessions},
        {"slots", r.slots},
        {"active_clients", r.active_clients},
        {"match_requests", r.match_requests},
        {"window",
         {{"sent", r.window_sent}, {"acked", r.window_acked}, {"delivered", r.window_delivered}}},
        {"per_second",
         {{"sent", static_cast<double>(r.window_sent) / secs},
          {"acked", static_cast<double>(r.window_acked) / secs},
          {"delivered", static_cast<double>(r.window_delivered) / secs}}},
        {"ack_latency_ns", histogram_json(r.ack_latency)},
        {"delivery_latency_ns", histogram_json(r.delivery_latency)},
        {"totals",
         {{"sent", r.sent},
          {"acked", r.acked},
          {"errors", r.errors},
          {"unanswered", r.unanswered},
          {"deliveries", r.deliveries},
          {"not_sent", r.not_sent}}},
        {"drain_s", r.drain_seconds},
        {"verification",
         {{"sessions", v.sessions},
          {"acked", v.acked},
          {"delivered", v.delivered},
          {"lost", v.lost},
          {"duplicated", v.duplicated},
          {"out_of_order", v.out_of_order},
          {"send_order_violations", v.send_order_violations},
          {"msg_id_conflicts", v.msg_id_conflicts},
          {"delivered_unacked", v.delivered_unacked},
          {"unchecked_sides", v.half_sessions},
          {"examples", v.examples}}},
        {"events", r.events},
        {"cpu", cpu_json(r.cpu)},
        {"failures", failures},
        {"passed", out.passed}};
    return out;
}

namespace {

std::string codes_text(const code_counts& codes) {
    if (codes.empty()) return "none";
    std::string out;
    for (const auto& [code, n] : codes) out += fmt::format("{}{}: {}", out.empty() ? "" : ", ", code, n);
    return out;
}

json codes_json(const code_counts& codes) {
    json j = json::object();
    for (const auto& [code, n] : codes) j[std::to_string(code)] = n;
    return j;
}

std::uint64_t count_of(const code_counts& codes, int code) {
    auto it = codes.find(code);
    return it == codes.end() ? 0 : it->second;
}

}  // namespace

const char* loop_name(match_loop l) { return l == match_loop::people ? "people" : "next"; }

report_output describe(const options& o, const match_report& r) {
    report_output out;
    const auto& v = r.check;
    std::vector<std::string> failures;
    if (v.new_session_missing > 0)
        failures.push_back(fmt::format("{} matches never told the partner", v.new_session_missing));
    if (v.new_session_duplicated > 0)
        failures.push_back(fmt::format("{} NewSession pushes duplicated", v.new_session_duplicated));
    if (v.partner_exit_missing > 0)
        failures.push_back(fmt::format("{} LEAVEs never told the partner", v.partner_exit_missing));
    if (v.partner_exit_duplicated > 0)
        failures.push_back(fmt::format("{} PartnerExit pushes duplicated", v.partner_exit_duplicated));
    if (v.partner_exit_unexplained > 0)
        failures.push_back(fmt::format("{} PartnerExit pushes without a LEAVE", v.partner_exit_unexplained));
    if (r.unanswered > 0) failures.push_back(fmt::format("{} MATCHes or LEAVEs never answered", r.unanswered));
    if (r.window_matched == 0) failures.push_back("no MATCH succeeded in the measured window");
    out.passed = failures.empty();
    const double secs = r.seconds;
    const double matched_per_s = static_cast<double>(r.window_matched) / secs;
    const double left_per_s = static_cast<double>(count_of(r.leave_codes, 0)) / secs;
    std::string& t = out.table;
    t += fmt::format(
        "chat-bench match: {} accounts online on {} broker(s), {} waiting in the pool; {}, "
        "{:.1f} s measured after {:.1f} s warm-up\n",
        r.login.logged_in, o.brokers.size(), r.seeded_waiting,
        o.loop == match_loop::people
            ? fmt::format("{} MATCHes in flight ({} naming waiters' tags), each from the next person",
                          r.matchers, r.interest_matchers)
            : fmt::format("{} clients ({} with interests) MATCH and LEAVE back to back", r.matchers,
                          r.interest_matchers),
        secs, o.warmup);
    t += login_row(r.login);
    t += fmt::format("  {:<18} {} waiters MATCHed with a tag of their own: {}\n", "pool", r.waiters,
                     codes_text(r.seed_codes));
    t += fmt::format(
        "  {:<18} {:.0f} MATCH/s paired (code 0; {} of them on a shared interest), {:.0f} MATCH/s "
        "answered; {:.0f} LEAVE/s\n",
        "throughput", matched_per_s, r.window_matched_on_interests,
        static_cast<double>(r.window_answered) / secs, left_per_s);
    t += fmt::format("  {:<18} matchers {}; waiters {}; LEAVE {}\n", "codes (window)",
                     codes_text(r.matcher_codes), codes_text(r.waiter_codes), codes_text(r.leave_codes));
    t += fmt::format("  {:<18} {} waits of matchers ended by a waiter; {} matchers still waiting at the end\n",
                     "", r.window_waits_ended, r.still_waiting);
    t += latency_header();
    t += latency_row("MATCH (any code)", r.latency);
    t += latency_row("MATCH (code 0)", r.paired_latency);
    t += latency_row("LEAVE", r.leave_latency);
    t += fmt::format(
        "  {:<18} NewSession missing {}, duplicated {}, unasked {}; PartnerExit missing {}, "
        "duplicated {}, unexplained {}; unanswered {}\n",
        "verification", v.new_session_missing, v.new_session_duplicated, v.new_session_unasked,
        v.partner_exit_missing, v.partner_exit_duplicated, v.partner_exit_unexplained, r.unanswered);
    t += outcome_rows(v.examples, r.events, r.cpu, out.passed, failures);

    out.line = fmt::format(
        "chat-bench: mode=match loop={} brokers={} online={} waiting={} matchers={} interest_matchers={} "
        "matched_per_s={:.0f} matched_on_interests={} match_per_s={:.0f} leave_per_s={:.0f} "
        "matchers_13={} matchers_15={} waiters_0={} waiters_13={} "
        "match_p50_ms={:.2f} match_p99_ms={:.2f} match_max_ms={:.2f} "
        "leave_p50_ms={:.2f} leave_p99_ms={:.2f} new_session_missing={} partner_exit_missing={} result={}",
        loop_name(o.loop), o.brokers.size(), r.login.logged_in, r.seeded_waiting, r.matchers,
        r.interest_matchers, matched_per_s, r.window_matched_on_interests, static_cast<double>(r.window_answered) / secs,
        left_per_s, count_of(r.matcher_codes, 13), count_of(r.matcher_codes, 15),
        count_of(r.waiter_codes, 0), count_of(r.waiter_codes, 13), ms(r.latency.percentile(50)),
        ms(r.latency.percentile(99)), ms(r.latency.max()), ms(r.leave_latency.percentile(50)),
        ms(r.leave_latency.percentile(99)), v.new_session_missing, v.partner_exit_missing,
        out.passed ? "PASS" : "FAIL");

    out.raw = {{"mode", "match"},
               {"loop", loop_name(o.loop)},
               {"brokers", brokers_text(o)},
               {"online", r.login.logged_in},
               {"matchers", r.matchers},
               {"interest_matchers", r.interest_matchers},
               {"waiters", r.waiters},
               {"waiting_at_start", r.seeded_waiting},
               {"seed_codes", codes_json(r.seed_codes)},
               {"warmup_s", o.warmup},
               {"duration_s", secs},
               {"login", login_json(r.login)},
               {"window",
                {{"answered", r.window_answered},
                 {"matched", r.window_matched},
                 {"matched_on_interests", r.window_matched_on_interests},
                 {"left", count_of(r.leave_codes, 0)},
                 {"waits_ended", r.window_waits_ended},
                 {"matcher_codes", codes_json(r.matcher_codes)},
                 {"waiter_codes", codes_json(r.waiter_codes)},
                 {"leave_codes", codes_json(r.leave_codes)}}},
               {"per_second",
                {{"answered", static_cast<double>(r.window_answered) / secs},
                 {"matched", matched_per_s},
                 {"left", left_per_s}}},
               {"matched_total", r.matched},
               {"latency_ns", histogram_json(r.latency)},
               {"paired_latency_ns", histogram_json(r.paired_latency)},
               {"leave_latency_ns", histogram_json(r.leave_latency)},
               {"still_waiting", r.still_waiting},
               {"new_session_missing", v.new_session_missing},
               {"new_session_duplicated", v.new_session_duplicated},
               {"new_session_unasked", v.new_session_unasked},
               {"partner_exit_missing", v.partner_exit_missing},
               {"partner_exit_duplicated", v.partner_exit_duplicated},
               {"partner_exit_unexplained", v.partner_exit_unexplained},
               {"unanswered", r.unanswered},
               {"examples", v.examples},
               {"events", r.events},
               {"cpu", cpu_json(r.cpu)},
               {"failures", failures},
               {"passed", out.passed}};
    return out;
}

report_output describe(const options& o, const idle_report& r) {
    report_output out;
    out.passed = r.connections > 0 && r.login.failed == 0;
    const double n = static_cast<double>(std::max<std::size_t>(1, r.connections));
    const double self_per =
        (static_cast<double>(r.self_rss_after_kib) - static_cast<double>(r.self_rss_before_kib)) /
        n;
    std::string& t = out.table;
    t += fmt::format("chat-bench idle: {} logged-in idle connections on {} broker(s)\n",
                     r.connections, o.brokers.size());
    t += login_row(r.login);
    t += fmt::format("  {:<18} VmRSS {} KiB before, {} KiB after: {:.2f} KiB per connection\n",
                     "broker memory", r.broker_rss_before_kib, r.broker_rss_after_kib,
                     r.kib_per_connection());
    t += fmt::format("  {:<18} VmRSS {} KiB before, {} KiB after: {:.2f} KiB per connection\n",
                     "chat-bench memory", r.self_rss_before_kib, r.self_rss_after_kib, self_per);
    t += events_rows(r.events);
    t += fmt::format("  {:<18} {}\n", "result",
                     out.passed ? "PASS" : "FAIL (not every connection logged in)");
    out.line = fmt::format(
        "chat-bench: mode=idle brokers={} connections={} broker_rss_before_kib={} "
        "broker_rss_after_kib={} "
        "broker_kib_per_connection={:.2f} result={}",
        o.brokers.size(), r.connections, r.broker_rss_before_kib, r.broker_rss_after_kib,
        r.kib_per_connection(), out.passed ? "PASS" : "FAIL");
    out.raw = {{"mode", "idle"},
               {"brokers", brokers_text(o)},
               {"connections", r.connections},
               {"login", login_json(r.login)},
               {"broker_rss_before_kib", r.broker_rss_before_kib},
               {"broker_rss_after_kib", r.broker_rss_after_kib},
               {"broker_kib_per_connection", r.kib_per_connection()},
               {"self_rss_before_kib", r.self_rss_before_kib},
               {"self_rss_after_kib", r.self_rss_after_kib},
               {"self_kib_per_connection", self_per},
               {"events", r.events},
               {"passed", out.passed}};
    return out;
}

}  // namespace chat::bench
