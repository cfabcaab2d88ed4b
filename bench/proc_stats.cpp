#include "bench/proc_stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

namespace chat::bench {

namespace {

std::uint64_t self_ticks() {
    const auto s = read_proc_stat(getpid()).value_or(proc_stat{});
    return s.utime + s.stime;
}

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view text) {
    // The command name (field 2) may hold spaces and parentheses: skip to the last ')'.
    const auto close = text.rfind(')');
    if (close == std::string_view::npos || close + 2 > text.size()) return std::nullopt;
    std::istringstream rest{std::string(text.substr(close + 2))};
    // Fields from 3 on: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
    // cmajflt utime stime cutime cstime ...
    std::string field;
    proc_stat out;
    int index = 3;
    try {
        for (; index <= 17 && rest >> field; ++index) {
            if (index == 4) out.ppid = static_cast<pid_t>(std::stol(field));
            if (index == 14) out.utime = std::stoull(field);
            if (index == 15) out.stime = std::stoull(field);
            if (index == 16) out.cutime = std::stoull(field);
            if (index == 17) out.cstime = std::stoull(field);
        }
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (index <= 17) return std::nullopt;
    return out;
}

std::optional<proc_stat> read_proc_stat(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!in || !std::getline(in, text)) return std::nullopt;
    return parse_proc_stat(text);
}

std::vector<pid_t> list_pids() {
    std::vector<pid_t> out;
    if (DIR* dir = opendir("/proc")) {
        while (dirent* entry = readdir(dir)) {
            char* end = nullptr;
            const long p = std::strtol(entry->d_name, &end, 10);
            if (end != entry->d_name && *end == '\0') out.push_back(static_cast<pid_t>(p));
        }
        closedir(dir);
    }
    return out;
}

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
    auto own = read_proc_stat(pid);
    if (!own) return std::nullopt;
    std::multimap<pid_t, pid_t> children;  // ppid -> pid
    std::map<pid_t, std::uint64_t> ticks;
    for (pid_t p : list_pids()) {
        if (auto s = read_proc_stat(p)) {
            children.emplace(s->ppid, p);
            ticks[p] = s->utime + s->stime;
        }
    }
    std::uint64_t total = own->utime + own->stime;
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
    self_start_ = self_ticks();
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
    r.self_percent = percent(self_ticks() - self_start_);
    auto machine = read_machine_cpu();
    if (machine.total > machine_start_.total) {
        r.machine_busy_percent = 100.0 * static_cast<double>(machine.busy - machine_start_.busy) /
                                 static_cast<double>(machine.total - machine_start_.total);
    }
    return r;
}

}  // namespace chat::bench
