#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace chat::stack {

struct spawn_options {
    /// stdout and stderr go here (appended, so a restarted process keeps one log).
    std::filesystem::path log_file;
    /// Working directory; empty means source_dir(), where relative config paths resolve.
    std::filesystem::path cwd;
    /// Run as this user (e.g. "postgres", which refuses to run as root); empty = as is.
    std::string run_as;
    /// Signal stop() sends first: SIGTERM for our services, SIGINT for PostgreSQL's
    /// fast shutdown.
    int stop_signal = SIGTERM;
    /// "NAME=value" entries added to (or replacing in) the inherited environment.
    std::vector<std::string> env;
    /// Outlive this process: no PR_SET_PDEATHSIG (chat-stack up). Detached or not, the
    /// child has a process group of its own in our session (see spawn()).
    bool detached = false;
};

/// Identifies a process across pid reuse: its pid and its start time (field 22 of
/// /proc/PID/stat). start_time 0 means "not known".
struct process_id {
    pid_t pid = -1;
    unsigned long long start_time = 0;
};

/// The start time of a live (not zombie) process; nullopt when there is none.
std::optional<unsigned long long> process_start_time(pid_t pid);
/// The parent pid of a process, nullopt when there is none.
std::optional<pid_t> parent_pid(pid_t pid);
/// True when `id` still names the same live process (a zombie counts as gone).
bool alive(const process_id& id);
/// True while a live (not zombie) process is in process group `pgid` (a keeper and the
/// postgres it started, say, which outlive a SIGKILLed parent for a moment).
bool group_alive(pid_t pgid);

/// One child process with its output in a log file. Unless detached, the child is
/// killed if this process dies (PR_SET_PDEATHSIG), so a crashed or timed-out test leaves
/// no strays; that ties the child to the spawning THREAD, so spawn from the main thread.
/// A process started by an earlier `chat-stack up` is adopted (known by pid and start
/// time, not waited for): the same calls then work on it.
class child_process {
  public:
    child_process(std::vector<std::string> argv, spawn_options options);
    /// Adopts a running process that is not our child (nothing is spawned).
    child_process(std::vector<std::string> argv, spawn_options options, process_id running);
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const { return pid_; }
    process_id id() const { return {pid_, start_time_}; }
    const spawn_options& options() const { return options_; }
    const std::vector<std::string>& argv() const { return argv_; }
    const std::filesystem::path& log_file() const { return options_.log_file; }

    /// True while the child has not exited (reaps it if it has).
    bool running();
    /// The exit status once it exited: the exit code, or 128 + signal number.
    std::optional<int> exit_status();

    /// Sends the stop signal, waits up to `grace` for it to exit, then SIGKILLs it.
    /// Returns the exit status (nullopt if it was not running).
    std::optional<int> stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
    /// Leaves the process running when this object dies (a detached system's).
    void release() { released_ = true; }
    bool released() const { return released_; }
    /// SIGKILL and reap: the process gets no chance to clean up.
    void kill9();
    /// Sends a signal without waiting.
    void signal(int sig);
    /// Waits for the child to exit by itself; nullopt on timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    /// Starts the same argv again (after it stopped or was killed).
    void restart();

    std::string log() const;
    std::string log_tail(std::size_t lines = 40) const;
    /// "<argv0> (pid N, running|exited S)\n<log tail>" for failure messages.
    std::string describe(std::size_t lines = 40);

  private:
    void spawn();
    bool reap(int flags);

    std::vector<std::string> argv_;
    spawn_options options_;
    pid_t pid_ = -1;
    unsigned long long start_time_ = 0;
    bool adopted_ = false;  // not our child: polled through /proc, never waited for
    bool released_ = false;
    std::optional<int> status_;
};

/// Runs a command to completion (output to log_file); returns its exit status, or
/// throws if it does not finish within `timeout`.
int run_command(std::vector<std::string> argv, spawn_options options,
                std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace chat::stack
