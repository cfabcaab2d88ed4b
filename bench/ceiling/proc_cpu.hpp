#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string_view>

namespace chat::bench::ceiling {

/// Parses /proc/<pid>/task/<tid>/schedstat: the nanoseconds the task ran on a CPU (user
/// and system), the scheduler's own count, finer than the ticks of /proc/<pid>/stat.
std::optional<std::uint64_t> parse_schedstat(std::string_view text);

/// Nanoseconds per clock tick (sysconf(_SC_CLK_TCK)).
std::uint64_t ns_per_tick();

/// CPU time a process has used, all its live threads, in ns (from schedstat, or from
/// /proc/<pid>/stat's ticks where schedstat is missing); nullopt when it is gone.
std::optional<std::uint64_t> process_cpu_ns(pid_t pid);

/// CPU time of one thread of this process (its kernel tid), in ns; 0 when gone.
std::uint64_t thread_cpu_ns(pid_t tid);

/// This thread's CPU time (getrusage RUSAGE_THREAD: user + system), in ns.
std::uint64_t this_thread_cpu_ns();
/// This process's CPU time, every thread (getrusage RUSAGE_SELF), in ns.
std::uint64_t this_process_cpu_ns();
/// The calling thread's kernel id.
pid_t this_thread_id();

/// Wall time since construction, and how busy the whole machine was meanwhile (every
/// CPU, anyone's work: how noisy the measurement was).
class machine_window {
  public:
    machine_window();
    double seconds() const;
    double busy_percent() const;

  private:
    std::chrono::steady_clock::time_point start_;
    std::uint64_t busy_ = 0, total_ = 0;
};

/// CPU of a process tree at one instant: a PostgreSQL postmaster and its children.
struct tree_sample {
    std::uint64_t parent_ns = 0;              // the postmaster itself
    std::uint64_t reaped_ns = 0;              // children it reaped: their whole lives
    std::map<pid_t, std::uint64_t> children;  // live children: CPU so far
};

/// Reads the tree of `parent` now (scans /proc).
tree_sample sample_tree(pid_t parent);

/// CPU used between two samples of one tree, split three ways.
struct tree_split {
    double probe_ns = 0;     // the children in `probe` (the backends serving the probe)
    double excluded_ns = 0;  // the children in `excluded` (other clients' backends)
    double rest_ns = 0;      // the parent, all other children, and children that exited
};

/// A child that exited between the samples counts in `rest` for the part of its life
/// inside the window: what the parent reaped minus what `before` had seen of it.
tree_split split_tree_cpu(const tree_sample& before, const tree_sample& after,
                          const std::set<pid_t>& probe, const std::set<pid_t>& excluded);

}  // namespace chat::bench::ceiling
