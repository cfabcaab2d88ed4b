#include "bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>

namespace chat::bench {

histogram::histogram(unsigned sub_bucket_bits, unsigned max_value_bits)
    : sub_bits_(sub_bucket_bits), max_bits_(max_value_bits) {
    if (sub_bits_ < 1 || sub_bits_ > 20 || max_bits_ <= sub_bits_ + 1 || max_bits_ > 63) {
        throw std::invalid_argument("histogram: sub_bucket_bits " + std::to_string(sub_bits_) +
                                    " and max_value_bits " + std::to_string(max_bits_) +
                                    " do not make a layout");
    }
    sub_count_ = std::uint64_t{1} << sub_bits_;
    highest_trackable_ = (std::uint64_t{1} << max_bits_) - 1;
    // 2S exact buckets, then S per power of two from 2^(sub_bits+1) to 2^(max_bits-1).
    counts_.assign(2 * sub_count_ + (max_bits_ - sub_bits_ - 1) * sub_count_, 0);
}

std::size_t histogram::bucket_index(std::uint64_t value) const {
    value = std::min(value, highest_trackable_);
    if (value < 2 * sub_count_) return static_cast<std::size_t>(value);
    const unsigned top_bit = static_cast<unsigned>(std::bit_width(value)) - 1;  // >= sub_bits_ + 1
    const unsigned shift = top_bit - sub_bits_;
    const std::uint64_t top = value >> shift;  // in [S, 2S)
    return static_cast<std::size_t>(2 * sub_count_ + (shift - 1) * sub_count_ + (top - sub_count_));
}

std::uint64_t histogram::bucket_lowest(std::size_t index) const {
    if (index < 2 * sub_count_) return index;
    const std::uint64_t j = index - 2 * sub_count_;
    const std::uint64_t shift = j / sub_count_ + 1;
    return (sub_count_ + j % sub_count_) << shift;
}

std::uint64_t histogram::bucket_highest(std::size_t index) const {
    if (index < 2 * sub_count_) return index;
    const std::uint64_t shift = (index - 2 * sub_count_) / sub_count_ + 1;
    return bucket_lowest(index) + (std::uint64_t{1} << shift) - 1;
}

void histogram::record_n(std::uint64_t value, std::uint64_t count) {
    if (count == 0) return;
    if (value > highest_trackable_) {
        clamped_ += count;
        value = highest_trackable_;
    }
    counts_[bucket_index(value)] += count;
    if (count_ == 0 || value < min_) min_ = value;
    if (value > max_) max_ = value;
    count_ += count;
    sum_ += static_cast<long double>(value) * static_cast<long double>(count);
}

void histogram::merge(const histogram& other) {
    if (other.sub_bits_ != sub_bits_ || other.max_bits_ != max_bits_) {
        throw std::invalid_argument("histogram: merging histograms of different layouts");
    }
    if (other.count_ == 0) return;
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    if (count_ == 0 || other.min_ < min_) min_ = other.min_;
    max_ = std::max(max_, other.max_);
    count_ += other.count_;
    clamped_ += other.clamped_;
    sum_ += other.sum_;
}

void histogram::reset() {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = clamped_ = min_ = max_ = 0;
    sum_ = 0;
}

double histogram::mean() const {
    return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t histogram::percentile(double percent) const {
    if (count_ == 0) return 0;
    percent = std::clamp(percent, 0.0, 100.0);
    // The rank of the value asked for, 1-based: p50 of 4 values is the 2nd.
    auto rank =
        static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::clamp(bucket_highest(i), min(), max_);
    }
    return max_;
}

}  // namespace chat::bench
