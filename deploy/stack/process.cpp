#include "deploy/stack/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "deploy/stack/files.hpp"

namespace chat::stack {

child_process::child_process(std::vector<std::string> argv, spawn_options options)
    : argv_(std::move(argv)), options_(std::move(options)) {
    if (argv_.empty()) throw std::invalid_argument("child_process: empty argv");
    if (options_.cwd.empty()) options_.cwd = source_dir();
    spawn();
}

child_process::child_process(std::vector<std::string> argv, spawn_options options,
                             process_id running)
    : argv_(std::move(argv)),
      options_(std::move(options)),
      pid_(running.pid),
      start_time_(running.start_time),
      adopted_(true) {
    if (argv_.empty()) throw std::invalid_argument("child_process: empty argv");
    if (options_.cwd.empty()) options_.cwd = source_dir();
    if (!alive(running)) status_ = -1;
}

child_process::~child_process() {
    if (released_) return;
    try {
        stop();
    } catch (...) {
        // A destructor must not throw; the child was SIGKILLed by stop() at worst.
    }
}

void child_process::spawn() {
    // Everything the child needs is prepared here: between fork and exec only
    // async-signal-safe calls are allowed, and the test process has threads.
    std::vector<char*> args;
    for (auto& arg : argv_) args.push_back(arg.data());
    args.push_back(nullptr);

    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry = *e;
        std::string name = entry.substr(0, entry.find('='));
        bool overridden = false;
        for (auto& extra : options_.env)
            overridden |= extra.compare(0, name.size() + 1, name + "=") == 0;
        if (!overridden) env_strings.push_back(std::move(entry));
    }
    for (auto& extra : options_.env) env_strings.push_back(extra);
    std::vector<char*> envp;
    for (auto& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);

    int log_fd = ::open(options_.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        throw std::runtime_error("cannot open log " + options_.log_file.string() + ": " +
                                 std::strerror(errno));
    }
    uid_t uid = 0;
    gid_t gid = 0;
    bool switch_user = !options_.run_as.empty() && ::geteuid() == 0;
    if (switch_user) {
        passwd* pw = ::getpwnam(options_.run_as.c_str());
        if (pw == nullptr) {
            ::close(log_fd);
            throw std::runtime_error("no such user: " + options_.run_as);
        }
        uid = pw->pw_uid;
        gid = pw->pw_gid;
        // The log belongs to the user the child runs as, so it can reopen it if it wants.
        if (::fchown(log_fd, uid, gid) != 0) {
            // Not fatal: the inherited descriptor stays writable.
        }
    }
    std::string cwd = options_.cwd.string();
    const bool detached = options_.detached;
    pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(log_fd);
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        int null_fd = ::open("/dev/null", O_RDONLY);
        if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
        // Its own process group: a terminal's Ctrl-C reaches only the test, and the child
        // then dies with it through PR_SET_PDEATHSIG instead of racing its teardown. A
        // detached child also has a group of its own (not the terminal's foreground group,
        // so neither Ctrl-C nor a closed terminal's SIGHUP reaches it) but stays in our
        // session: with a session each (setsid), the kernel's autogroup scheduling gave
        // every process its own CPU share, and on a busy machine the benchmark's system
        // delivered a third of its throughput (bench/run.sh --quick, 2,500 against 7,200
        // msg/s; the same drop with bench/stack.sh's services started under setsid).
        ::setpgid(0, 0);
        if (switch_user) {
            if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)
                _exit(126);
        }
        // Set after changing user: a credential change clears it.
        if (!detached) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) _exit(125);
        }
        if (::chdir(cwd.c_str()) != 0) _exit(124);
        ::execve(args[0], args.data(), envp.data());
        const char msg[] = "exec failed\n";
        [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(127);
    }
    ::close(log_fd);
    pid_ = pid;
    adopted_ = false;
    start_time_ = process_start_time(pid).value_or(0);
    status_.reset();
}

bool child_process::reap(int flags) {
    if (pid_ <= 0 || status_) return true;
    if (adopted_) {
        // Not our child: it is gone when /proc says so; its exit status is unknown.
        while (alive({pid_, start_time_})) {
            if (flags & WNOHANG) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        status_ = -1;
        return true;
    }
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &status, flags);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    if (r < 0) {
        status_ = -1;  // not our child any more; nothing to wait for
        return true;
    }
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
}

bool child_process::running() { return !reap(WNOHANG); }

std::optional<int> child_process::exit_status() {
    reap(WNOHANG);
    return status_;
}

void child_process::signal(int sig) {
    if (running()) ::kill(pid_, sig);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reap(WNOHANG)) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
}

std::optional<int> child_process::stop(std::chrono::milliseconds grace) {
    if (!running()) return std::nullopt;
    ::kill(pid_, options_.stop_signal);
    if (auto status = wait_exit(grace)) return status;
    kill9();
    return status_;
}

void child_process::kill9() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    reap(0);
}

void child_process::restart() {
    if (running()) throw std::logic_error("restart: " + argv_[0] + " is still running");
    spawn();
}

namespace {

// Fields of /proc/PID/stat after the command name (which may hold spaces and
// parentheses, so parsing starts after its last ')'): [0] state, [1] ppid, [19] start.
std::optional<std::vector<std::string>> stat_fields(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 > text.size()) return std::nullopt;
    std::istringstream stream(text.substr(close + 2));
    std::vector<std::string> fields;
    for (std::string field; stream >> field;) fields.push_back(field);
    if (fields.size() < 20) return std::nullopt;
    return fields;
}

}  // namespace

std::optional<unsigned long long> process_start_time(pid_t pid) {
    auto fields = stat_fields(pid);
    if (!fields || (*fields)[0] == "Z" || (*fields)[0] == "X") return std::nullopt;
    return std::stoull((*fields)[19]);
}

std::optional<pid_t> parent_pid(pid_t pid) {
    auto fields = stat_fields(pid);
    if (!fields) return std::nullopt;
    return static_cast<pid_t>(std::stol((*fields)[1]));
}

bool alive(const process_id& id) {
    if (id.pid <= 0) return false;
    auto start = process_start_time(id.pid);
    return start && (id.start_time == 0 || *start == id.start_time);
}

bool group_alive(pid_t pgid) {
    if (pgid <= 0) return false;
    std::error_code ec;
    for (auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const auto name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        auto fields = stat_fields(static_cast<pid_t>(std::stol(name)));
        // [0] state, [2] process group.
        if (fields && (*fields)[0] != "Z" && (*fields)[0] != "X" && std::stol((*fields)[2]) == pgid) return true;
    }
    return false;
}

std::string child_process::log() const { return read_file(options_.log_file); }

std::string child_process::log_tail(std::size_t lines) const {
    return tail_file(options_.log_file, lines);
}

std::string child_process::describe(std::size_t lines) {
    std::string state = running() ? "running" : "exited " + std::to_string(status_.value_or(-1));
    return "--- " + argv_[0] + " (pid " + std::to_string(pid_) + ", " + state + ", log " +
           options_.log_file.string() + ")\n" + log_tail(lines);
}

int run_command(std::vector<std::string> argv, spawn_options options,
                std::chrono::milliseconds timeout) {
    child_process child(std::move(argv), std::move(options));
    if (auto status = child.wait_exit(timeout)) return *status;
    std::string what = child.describe();
    child.kill9();
    throw std::runtime_error("command did not finish in time:\n" + what);
}

}  // namespace chat::stack
