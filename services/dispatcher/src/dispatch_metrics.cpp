#include "services/dispatcher/src/dispatch_metrics.hpp"

namespace chat::dispatcher {

dispatch_metrics::dispatch_metrics(metrics::service_metrics& metrics)
    : delivery_(prometheus::BuildHistogram()
                    .Name("chat_dispatch_delivery_seconds")
                    .Help("From the transaction that wrote an inbox row to its push published to nats-server.")
                    .Register(metrics.registry())
                    .Add({}, metrics::latency_buckets())),
      drain_(prometheus::BuildHistogram()
                 .Name("chat_dispatch_drain_seconds")
                 .Help("One drain: read the rows, publish their pushes, delete them.")
                 .Register(metrics.registry())
                 .Add({}, metrics::latency_buckets())),
      inbox_rows_(prometheus::BuildGauge()
                      .Name("chat_inbox_rows")
                      .Help("Inbox rows waiting to be delivered, as of the dispatcher's last sweep.")
                      .Register(metrics.registry())
                      .Add({})) {}

}  // namespace chat::dispatcher
