#include "bench/ceiling/proc_cpu.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <string>

#include "bench/proc_stats.hpp"

namespace chat::bench::ceiling {
namespace {

std::optional<std::uint64_t> read_schedstat(const std::string& path) {
    std::ifstream in(path);
    std::string text;
    if (!in || !std::getline(in, text)) return std::nullopt;
    return parse_schedstat(text);
}

std::uint64_t ns_of(const timeval& t) {
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(t.tv_usec) * 1000ULL;
}

std::uint64_t rusage_ns(int who) {
    rusage u{};
    getrusage(who, &u);
    return ns_of(u.ru_utime) + ns_of(u.ru_stime);
}

}  // namespace

std::optional<std::uint64_t> parse_schedstat(std::string_view text) {
    // "<ns on cpu> <ns waiting for a cpu> <timeslices>"
    std::uint64_t ns = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ns);
    if (ec != std::errc{} || end == text.data()) return std::nullopt;
    return ns;
}

std::uint64_t ns_per_tick() {
    return 1'000'000'000ULL / static_cast<std::uint64_t>(ticks_per_second());
}

std::optional<std::uint64_t> process_cpu_ns(pid_t pid) {
    const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
    std::uint64_t total = 0;
    bool any = false;
    if (DIR* dir = opendir(task_dir.c_str())) {
        while (dirent* entry = readdir(dir)) {
            if (entry->d_name[0] == '.') continue;
            if (auto ns = read_schedstat(task_dir + "/" + entry->d_name + "/schedstat")) {
                total += *ns;
                any = true;
            }
        }
        closedir(dir);
    }
    if (any) return total;
    const auto stat = read_proc_stat(pid);
    if (!stat) return std::nullopt;
    return (stat->utime + stat->stime) * ns_per_tick();
}

std::uint64_t thread_cpu_ns(pid_t tid) {
    return read_schedstat("/proc/self/task/" + std::to_string(tid) + "/schedstat").value_or(0);
}

std::uint64_t this_thread_cpu_ns() { return rusage_ns(RUSAGE_THREAD); }

std::uint64_t this_process_cpu_ns() { return rusage_ns(RUSAGE_SELF); }

pid_t this_thread_id() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

machine_window::machine_window() : start_(std::chrono::steady_clock::now()) {
    const auto m = read_machine_cpu();
    busy_ = m.busy;
    total_ = m.total;
}

double machine_window::seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double machine_window::busy_percent() const {
    const auto m = read_machine_cpu();
    return m.total > total_
               ? 100.0 * static_cast<double>(m.busy - busy_) / static_cast<double>(m.total - total_)
               : 0.0;
}

tree_sample sample_tree(pid_t parent) {
    tree_sample out;
    if (const auto own = read_proc_stat(parent)) {
        out.parent_ns = process_cpu_ns(parent).value_or(0);
        out.reaped_ns = (own->cutime + own->cstime) * ns_per_tick();
    }
    for (pid_t pid : list_pids()) {
        const auto stat = read_proc_stat(pid);
        if (!stat || stat->ppid != parent) continue;
        if (const auto ns = process_cpu_ns(pid)) out.children[pid] = *ns;
    }
    return out;
}

tree_split split_tree_cpu(const tree_sample& before, const tree_sample& after,
                          const std::set<pid_t>& probe, const std::set<pid_t>& excluded) {
    tree_split out;
    for (const auto& [pid, ns] : after.children) {
        const auto seen = before.children.find(pid);
        const std::uint64_t start = seen == before.children.end() ? 0 : seen->second;
        const double used = ns >= start ? static_cast<double>(ns - start) : 0.0;
        if (probe.count(pid))
            out.probe_ns += used;
        else if (excluded.count(pid))
            out.excluded_ns += used;
        else
            out.rest_ns += used;
    }
    double exited = after.reaped_ns >= before.reaped_ns
                        ? static_cast<double>(after.reaped_ns - before.reaped_ns)
                        : 0.0;
    for (const auto& [pid, ns] : before.children)
        if (!after.children.count(pid)) exited -= static_cast<double>(ns);
    out.rest_ns += exited > 0 ? exited : 0.0;
    if (after.parent_ns >= before.parent_ns)
        out.rest_ns += static_cast<double>(after.parent_ns - before.parent_ns);
    return out;
}

}  // namespace chat::bench::ceiling
