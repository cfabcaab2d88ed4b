#include "services/logic/src/logic_metrics.hpp"

#include "shared/metrics/command_label.hpp"

namespace chat::logic {
namespace {

prometheus::Histogram::BucketBoundaries size_buckets() { return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512}; }

// transaction()'s kinds; anything else counts as "command", the last.
const std::vector<std::string>& transaction_kinds() {
    static const std::vector<std::string> kinds = {"dialogue", "match", "ack", "command"};
    return kinds;
}

}  // namespace

logic_metrics::logic_metrics(metrics::service_metrics& metrics)
    : commands_(prometheus::BuildCounter()
                    .Name("chat_logic_commands_total")
                    .Help("Commands logic answered, by command and reply code.")
                    .Register(metrics.registry()),
                metrics::all_command_labels()),
      transaction_seconds_(prometheus::BuildHistogram()
                               .Name("chat_logic_transaction_seconds")
                               .Help("Time from taking a group of commands to having its outcome (its "
                                     "transactions committed), by kind of group.")
                               .Register(metrics.registry()),
                           "kind", transaction_kinds(), metrics::latency_buckets()),
      batch_size_(prometheus::BuildHistogram()
                      .Name("chat_logic_batch_size")
                      .Help("Commands in one transaction (DIALOGUE: messages), by kind of group.")
                      .Register(metrics.registry()),
                  "kind", transaction_kinds(), size_buckets()),
      waiting_(prometheus::BuildGauge()
                   .Name("chat_matching_waiting")
                   .Help("People in the waiting pool, as of logic's last sweep.")
                   .Register(metrics.registry())
                   .Add({})),
      retention_deleted_(prometheus::BuildCounter()
                             .Name("chat_retention_deleted_total")
                             .Help("Rows retention deleted, by kind (messages, sessions, accounts, reports, bans).")
                             .Register(metrics.registry())) {
    // Every kind from the start, so a rate() over them is 0 rather than absent.
    for (const char* kind : {"messages", "sessions", "accounts", "reports", "bans"})
        retention_deleted_.Add({{"kind", kind}});
}

void logic_metrics::answered(const proto::Request& request, const proto::Reply& reply) {
    const auto& labels = metrics::all_command_labels();
    commands_.increment(metrics::index_of(labels, metrics::command_label(request), labels.size() - 1), reply.code());
}

void logic_metrics::transaction(const char* kind, std::chrono::steady_clock::duration took, std::size_t size) {
    const auto& kinds = transaction_kinds();
    const auto index = metrics::index_of(kinds, kind, kinds.size() - 1);
    transaction_seconds_[index].Observe(std::chrono::duration<double>(took).count());
    batch_size_[index].Observe(static_cast<double>(size));
}

void logic_metrics::retention_deleted(const char* kind, long long rows) {
    if (rows > 0) retention_deleted_.Add({{"kind", kind}}).Increment(static_cast<double>(rows));
}

}  // namespace chat::logic
