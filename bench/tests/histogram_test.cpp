#include "bench/histogram.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

using chat::bench::histogram;

TEST_CASE("an empty histogram reports zeros") {
    histogram h;
    CHECK(h.count() == 0);
    CHECK(h.min() == 0);
    CHECK(h.max() == 0);
    CHECK(h.mean() == 0);
    CHECK(h.percentile(50) == 0);
    CHECK(h.percentile(100) == 0);
}

TEST_CASE("small values are exact") {
    histogram h;  // 7 sub-bucket bits: every value below 256 has its own bucket
    for (std::uint64_t v = 0; v < 256; ++v) {
        CHECK(h.bucket_lowest(h.bucket_index(v)) == v);
        CHECK(h.bucket_highest(h.bucket_index(v)) == v);
    }
    for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
    CHECK(h.count() == 100);
    CHECK(h.min() == 1);
    CHECK(h.max() == 100);
    CHECK(h.percentile(50) == 50);
    CHECK(h.percentile(90) == 90);
    CHECK(h.percentile(99) == 99);
    CHECK(h.percentile(100) == 100);
    CHECK(h.percentile(0) == 1);
    CHECK(h.mean() == Approx(50.5));
}

TEST_CASE("buckets tile the range without gaps or overlaps") {
    histogram h(7, 30);
    CHECK(h.bucket_lowest(0) == 0);
    for (std::size_t i = 1; i < h.bucket_count(); ++i) {
        INFO("bucket " << i);
        REQUIRE(h.bucket_lowest(i) == h.bucket_highest(i - 1) + 1);
        REQUIRE(h.bucket_index(h.bucket_lowest(i)) == i);
        REQUIRE(h.bucket_index(h.bucket_highest(i)) == i);
    }
    CHECK(h.bucket_highest(h.bucket_count() - 1) == h.highest_trackable());
    CHECK(h.highest_trackable() == (std::uint64_t{1} << 30) - 1);
}

TEST_CASE("every value is known to within 1%") {
    histogram h;
    std::mt19937_64 rng(42);
    for (int i = 0; i < 200000; ++i) {
        // log-uniform from 1 ns to about an hour (the default range: 2^42 ns)
        auto v = static_cast<std::uint64_t>(
            std::exp(std::uniform_real_distribution<double>(0, 29.0)(rng)));
        auto b = h.bucket_index(v);
        REQUIRE(h.bucket_lowest(b) <= v);
        REQUIRE(v <= h.bucket_highest(b));
        const double width = static_cast<double>(h.bucket_highest(b) - h.bucket_lowest(b));
        REQUIRE(width <= static_cast<double>(v) / 128.0);
    }
}

TEST_CASE("percentiles match a sorted reference within the resolution") {
    histogram h;
    std::vector<std::uint64_t> values;
    std::mt19937_64 rng(7);
    std::lognormal_distribution<double> latency(std::log(2e6), 0.8);  // ~2 ms, long tail
    for (int i = 0; i < 100000; ++i) {
        auto v = static_cast<std::uint64_t>(latency(rng));
        values.push_back(v);
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    for (double p : {1.0, 25.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
        auto rank =
            static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
        const auto exact = static_cast<double>(values[rank - 1]);
        const auto got = static_cast<double>(h.percentile(p));
        INFO("p" << p << " exact " << exact << " got " << got);
        CHECK(got >= exact);
        CHECK(got <= exact * 1.01);
    }
    CHECK(h.max() == values.back());
    CHECK(h.min() == values.front());
    CHECK(h.percentile(100) == values.back());
}

TEST_CASE("merge adds counts and keeps min and max") {
    histogram a, b, both;
    for (std::uint64_t v = 1000; v < 2000; v += 3) {
        a.record(v);
        both.record(v);
    }
    for (std::uint64_t v = 500000; v < 900000; v += 1001) {
        b.record(v);
        both.record(v);
    }
    a.merge(b);
    CHECK(a.count() == both.count());
    CHECK(a.min() == 1000);
    CHECK(a.max() == both.max());
    CHECK(a.mean() == Approx(both.mean()));
    for (double p : {10.0, 50.0, 75.0, 99.0}) CHECK(a.percentile(p) == both.percentile(p));
    histogram other_layout(5, 30);
    CHECK_THROWS_AS(a.merge(other_layout), std::invalid_argument);
}

TEST_CASE("values above the range are clamped and counted") {
    histogram h(7, 20);
    h.record(5);
    h.record(std::uint64_t{1} << 40);
    CHECK(h.count() == 2);
    CHECK(h.clamped() == 1);
    CHECK(h.max() == h.highest_trackable());
    CHECK(h.percentile(100) == h.highest_trackable());
}

TEST_CASE("record_n counts as many records") {
    histogram a, b;
    a.record_n(12345, 10);
    for (int i = 0; i < 10; ++i) b.record(12345);
    CHECK(a.count() == b.count());
    CHECK(a.percentile(50) == b.percentile(50));
    a.reset();
    CHECK(a.count() == 0);
    CHECK(a.percentile(50) == 0);
}

TEST_CASE("a bad layout is refused") {
    CHECK_THROWS_AS(histogram(0, 40), std::invalid_argument);
    CHECK_THROWS_AS(histogram(7, 8), std::invalid_argument);
    CHECK_THROWS_AS(histogram(7, 64), std::invalid_argument);
}
