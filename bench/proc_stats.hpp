#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat::bench {

/// The fields of /proc/<pid>/stat the benchmarks read. Times are clock ticks.
struct proc_stat {
    pid_t ppid = 0;
    std::uint64_t utime = 0, stime = 0;    // the process, all its threads
    std::uint64_t cutime = 0, cstime = 0;  // children it has waited for (reaped)
};

/// Parses the text of /proc/<pid>/stat; nullopt when it is malformed.
std::optional<proc_stat> parse_proc_stat(std::string_view text);
/// Reads /proc/<pid>/stat; nullopt when the process is gone.
std::optional<proc_stat> read_proc_stat(pid_t pid);
/// Every process in /proc.
std::vector<pid_t> list_pids();

/// VmRSS of a process in KiB, from /proc/<pid>/status; nullopt when unreadable.
std::optional<std::uint64_t> rss_kib(pid_t pid);

/// CPU time (user + system, clock ticks) of a process and all its descendants (a
/// postmaster and its backends); nullopt when the process is gone.
std::optional<std::uint64_t> cpu_ticks_with_descendants(pid_t pid);

/// Clock ticks per second (sysconf(_SC_CLK_TCK)).
long ticks_per_second();

/// Whole-machine CPU counters from /proc/stat's first line.
struct machine_cpu {
    std::uint64_t busy = 0;  // every state but idle and iowait
    std::uint64_t total = 0;
};
machine_cpu read_machine_cpu();
unsigned online_cpus();

/// A process to watch during a run: a name for the report and its pid.
struct watched_process {
    std::string name;
    pid_t pid = 0;
};

/// CPU used by each watched process between two samples.
class cpu_meter {
  public:
    explicit cpu_meter(std::vector<watched_process> processes);
    void start();
    struct usage {
        std::string name;
        pid_t pid = 0;
        double percent_of_one_cpu = -1;  // -1: not measurable (process gone)
    };
    struct result {
        std::vector<usage> processes;
        double self_percent = 0;          // this benchmark process
        double machine_busy_percent = 0;  // all CPUs, 100 = every CPU busy
        double seconds = 0;
    };
    result stop() const;

  private:
    std::vector<watched_process> processes_;
    std::vector<std::optional<std::uint64_t>> start_ticks_;
    std::uint64_t self_start_ = 0;
    machine_cpu machine_start_;
    std::int64_t start_ns_ = 0;
};

}  // namespace chat::bench
