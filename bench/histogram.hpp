#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace chat::bench {

/// A log-linear histogram of non-negative integers, laid out like HdrHistogram: values
/// below 2^(sub_bucket_bits + 1) each have their own bucket; above that every power of
/// two is cut into 2^sub_bucket_bits equal buckets. A value is therefore known to within
/// 1 / 2^sub_bucket_bits of itself (7 bits: better than 1%, two significant digits) at
/// a fixed memory cost (about 4,600 counters for nanoseconds up to an hour).
/// Not thread-safe: keep one per thread and merge().
class histogram {
  public:
    /// Values must stay below 2^max_value_bits; larger ones are recorded as the largest
    /// trackable value and counted by clamped().
    explicit histogram(unsigned sub_bucket_bits = 7, unsigned max_value_bits = 42);

    void record(std::uint64_t value) { record_n(value, 1); }
    void record_n(std::uint64_t value, std::uint64_t count);
    /// Adds every count of `other`, which must have the same layout (else
    /// std::invalid_argument).
    void merge(const histogram& other);
    void reset();

    std::uint64_t count() const { return count_; }
    /// Exact smallest and largest recorded values (0 when empty).
    std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
    std::uint64_t max() const { return max_; }
    double mean() const;
    std::uint64_t clamped() const { return clamped_; }

    /// The value below or at which `percent` (0..100) of the recorded values lie: the
    /// highest value of the bucket holding that rank, never above max() nor below min().
    /// 0 when empty.
    std::uint64_t percentile(double percent) const;

    // Layout, for tests and raw dumps.
    std::size_t bucket_count() const { return counts_.size(); }
    std::size_t bucket_index(std::uint64_t value) const;
    std::uint64_t bucket_lowest(std::size_t index) const;
    std::uint64_t bucket_highest(std::size_t index) const;
    std::uint64_t bucket_value_count(std::size_t index) const { return counts_.at(index); }
    std::uint64_t highest_trackable() const { return highest_trackable_; }

  private:
    unsigned sub_bits_;
    unsigned max_bits_;
    std::uint64_t sub_count_;  // 2^sub_bits_
    std::uint64_t highest_trackable_;
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    std::uint64_t clamped_ = 0;
    std::uint64_t min_ = 0;
    std::uint64_t max_ = 0;
    long double sum_ = 0;
};

}  // namespace chat::bench
