#include "bench/proc_stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

namespace chat::bench {

namespace {

struct stat_line {
    pid_t ppid = 0;
    std::uint64_t ticks = 0;  // utime + stime
};

std::optional<stat_line> read_stat(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!in || !std::getline(in, text)) return std::nullopt;
    // The command name (field 2) may hold spaces and parentheses: skip to the last ')'.
    auto close = text.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    stat_line out;
    // Fields from 3 on: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
    // cmajflt utime stime ...
    for (int index = 3; index <= 15 && rest >> field; ++index) {
        if (index == 4) out.ppid = static_cast<pid_t>(std::stol(field));
        if (index == 14 || index == 15) out.ticks += std::stoull(field);
    }
    return out;
}

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

std::optional<std::uint64_t> rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            std::istringstream fields(line.substr(6));
            std::uint64_t kib = 0;
            if (fields >> kib) return kib;
        }
    }
    return std::nullopt;
}

std::optional<std::uint64_t> cpu_ticks_with_descendants(pid_t pid) {
    auto own = read_stat(pid);
    if (!own) return std::nullopt;
    std::multimap<pid_t, pid_t> children;  // ppid -> pid
    std::map<pid_t, std::uint64_t> ticks;
    if (DIR* dir = opendir("/proc")) {
        while (dirent* entry = readdir(dir)) {
            char* end = nullptr;
            long p = std::strtol(entry->d_name, &end, 10);
            if (end == entry->d_name || *end != '\0') continue;
            if (auto s = read_stat(static_cast<pid_t>(p))) {
                children.emplace(s->ppid, static_cast<pid_t>(p));
                ticks[static_cast<pid_t>(p)] = s->ticks;
            }
        }
        closedir(dir);
    }
    std::uint64_t total = own->ticks;
    std::vector<pid_t> todo{pid};
    while (!todo.empty()) {
        pid_t parent = todo.back();
        todo.pop_back();
        auto [first, last] = children.equal_range(parent);
        for (auto it = first; it != last; ++it) {
            total += ticks[it->second];
            todo.push_back(it->second);
        }
    }
    return total;
}

long ticks_per_second() { return sysconf(_SC_CLK_TCK); }

unsigned online_cpus() {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<unsigned>(n) : 1;
}

machine_cpu read_machine_cpu() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    machine_cpu out;
    if (!(in >> cpu) || cpu != "cpu") return out;
    // user nice system idle iowait irq softirq steal (guest counted in user)
    std::uint64_t v[8] = {};
    for (auto& x : v) in >> x;
    for (int i = 0; i < 8; ++i) {
        out.total += v[i];
        if (i != 3 && i != 4) out.busy += v[i];
    }
    return out;
}

cpu_meter::cpu_meter(std::vector<watched_process> processes) : processes_(std::move(processes)) {}

void cpu_meter::start() {
    start_ticks_.clear();
    for (const auto& p : processes_) start_ticks_.push_back(cpu_ticks_with_descendants(p.pid));
    self_start_ = read_stat(getpid()).value_or(stat_line{}).ticks;
    machine_start_ = read_machine_cpu();
    start_ns_ = now_ns();
}

cpu_meter::result cpu_meter::stop() const {
    result r;
    r.seconds = static_cast<double>(now_ns() - start_ns_) / 1e9;
    const double tick_seconds = 1.0 / static_cast<double>(ticks_per_second());
    auto percent = [&](std::uint64_t ticks) {
        return r.seconds > 0 ? 100.0 * static_cast<double>(ticks) * tick_seconds / r.seconds : 0.0;
    };
    for (std::size_t i = 0; i < processes_.size(); ++i) {
        usage u{processes_[i].name, processes_[i].pid, -1};
        auto now = cpu_ticks_with_descendants(processes_[i].pid);
        if (now && i < start_ticks_.size() && start_ticks_[i] && *now >= *start_ticks_[i]) {
            u.percent_of_one_cpu = percent(*now - *start_ticks_[i]);
        }
        r.processes.push_back(u);
    }
    r.self_percent = percent(read_stat(getpid()).value_or(stat_line{}).ticks - self_start_);
    auto machine = read_machine_cpu();
    if (machine.total > machine_start_.total) {
        r.machine_busy_percent = 100.0 * static_cast<double>(machine.busy - machine_start_.busy) /
                                 static_cast<double>(machine.total - machine_start_.total);
    }
    return r;
}

}  // namespace chat::bench
