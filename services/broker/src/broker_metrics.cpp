#include "services/broker/src/broker_metrics.hpp"

#include <string>

namespace chat::broker {
namespace {

// A client names cmd: only the protocol's commands become label values (anything else
// is INVALID, the last), so no client can grow the series without bound.
const std::vector<std::string>& command_labels() {
    static const std::vector<std::string> known = {"CRT_ACCOUNT", "RECONNECT", "MATCH",  "CANCEL_MATCH", "DIALOGUE",
                                                   "VIEWED_ACK",  "ACK",       "LOGOUT", "LEAVE",        "BLOCK",
                                                   "REPORT",      "TYPING",    "PING",   "PONG",         "INVALID"};
    return known;
}

prometheus::Counter& counter(prometheus::Registry& r, const char* name, const char* help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

broker_metrics::broker_metrics(metrics::service_metrics& metrics)
    : connections_(prometheus::BuildGauge()
                       .Name("chat_connections")
                       .Help("Open WebSocket connections.")
                       .Register(metrics.registry())
                       .Add({})),
      commands_(prometheus::BuildCounter()
                    .Name("chat_commands_total")
                    .Help("Client commands answered, by command and reply code.")
                    .Register(metrics.registry()),
                command_labels()),
      durations_(prometheus::BuildHistogram()
                     .Name("chat_request_duration_seconds")
                     .Help("From a command's frame read to its answer written out, by command.")
                     .Register(metrics.registry()),
                 "cmd", command_labels(), metrics::latency_buckets()),
      pushes_(counter(metrics.registry(), "chat_pushes_total", "Pushes written (or held for a resume) to clients.")),
      slow_dropped_(counter(metrics.registry(), "chat_slow_clients_dropped_total",
                            "Connections dropped because the client did not read its frames.")),
      rate_limited_(counter(metrics.registry(), "chat_rate_limited_total",
                            "Commands refused with code 12 (too fast).")),
      resumes_(counter(metrics.registry(), "chat_resumes_total",
                       "Resumes of missed deliveries finished (after RECONNECT or a lost bus).")) {}

void broker_metrics::answered(std::string_view cmd, int code, clock::time_point started) {
    const auto& labels = command_labels();
    const auto index = metrics::index_of(labels, cmd, labels.size() - 1);
    commands_.increment(index, code);
    durations_[index].Observe(std::chrono::duration<double>(clock::now() - started).count());
}

}  // namespace chat::broker
