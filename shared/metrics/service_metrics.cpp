#include "shared/metrics/service_metrics.hpp"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace chat::metrics {

const char* build_version() { return CHAT_VERSION; }

service_metrics::service_metrics(const std::string& service) : registry_(std::make_shared<prometheus::Registry>()) {
    prometheus::BuildGauge()
        .Name("chat_build_info")
        .Help("Always 1: which service and version this is.")
        .Register(*registry_)
        .Add({{"service", service}, {"version", build_version()}})
        .Set(1);
}

std::string service_metrics::render() const {
    auto families = registry_->Collect();
    for (auto& f : process_.Collect()) families.push_back(std::move(f));
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
}

prometheus::Histogram::BucketBoundaries latency_buckets() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace chat::metrics
