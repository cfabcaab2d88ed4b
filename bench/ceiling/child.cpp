#include "bench/ceiling/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

extern char** environ;

namespace chat::bench::ceiling {
namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

child::child(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0) fail("pipe2");
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        fail("pipe2");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);

    // Exec /proc/self/exe itself: the very binary running, even if the build replaced
    // the file since.
    const std::string self = "/proc/self/exe";
    std::vector<std::string> argv_strings{std::filesystem::read_symlink(self).string()};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, self.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    to_child_ = in[1];
    from_child_ = out[0];
    if (rc != 0) {
        close(to_child_);
        close(from_child_);
        errno = rc;
        fail("posix_spawn " + self);
    }
}

child::~child() {
    if (to_child_ >= 0) close(to_child_);
    if (from_child_ >= 0) close(from_child_);
    if (!reaped_ && pid_ > 0) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
        }
    }
}

void child::send_line(const std::string& line) {
    const std::string text = line + "\n";
    std::size_t done = 0;
    while (done < text.size()) {
        const auto n = write(to_child_, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("writing to child " + std::to_string(pid_));
        }
        done += static_cast<std::size_t>(n);
    }
}

std::string child::read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (const auto eol = buffer_.find('\n'); eol != std::string::npos) {
            std::string line = buffer_.substr(0, eol);
            buffer_.erase(0, eol + 1);
            return line;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            throw std::runtime_error("child " + std::to_string(pid_) + " did not answer within " +
                                     std::to_string(timeout.count()) + " ms");
        pollfd p{from_child_, POLLIN, 0};
        const int ready = poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno != EINTR) fail("poll");
        if (ready <= 0) continue;
        char chunk[4096];
        const auto n = read(from_child_, chunk, sizeof chunk);
        if (n < 0 && errno != EINTR) fail("reading from child " + std::to_string(pid_));
        if (n == 0)
            throw std::runtime_error("child " + std::to_string(pid_) +
                                     " exited (see its messages above)");
        if (n > 0) buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

int child::wait() {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0)
        if (errno != EINTR) fail("waitpid");
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace chat::bench::ceiling
