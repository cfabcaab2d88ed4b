#include "shared/metrics/labelled_children.hpp"

#include <algorithm>

namespace chat::metrics {

command_counters::command_counters(prometheus::Family<prometheus::Counter>& family, std::vector<std::string> commands)
    : family_(family), commands_(std::move(commands)), children_(commands_.size()) {
    for (auto& row : children_)
        for (auto& child : row) child.store(nullptr, std::memory_order_relaxed);
}

prometheus::Counter& command_counters::make(std::size_t command, int code) {
    return family_.Add({{"cmd", commands_.at(command)}, {"code", std::to_string(code)}});
}

void command_counters::increment(std::size_t command, int code) {
    if (code < 0 || code >= k_codes) return make(command, code).Increment();
    auto& slot = children_[command][static_cast<std::size_t>(code)];
    auto* child = slot.load(std::memory_order_acquire);
    if (child == nullptr) {
        child = &make(command, code);  // the family returns the same child to every racer
        slot.store(child, std::memory_order_release);
    }
    child->Increment();
}

histograms_by::histograms_by(prometheus::Family<prometheus::Histogram>& family, const std::string& label,
                             const std::vector<std::string>& values,
                             const prometheus::Histogram::BucketBoundaries& buckets) {
    for (const auto& value : values) children_.push_back(&family.Add({{label, value}}, buckets));
}

std::size_t index_of(const std::vector<std::string>& names, std::string_view name, std::size_t fallback) {
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? fallback : static_cast<std::size_t>(it - names.begin());
}

}  // namespace chat::metrics
