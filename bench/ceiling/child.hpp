#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace chat::bench::ceiling {

/// A copy of this program (/proc/self/exe) started with other arguments, spoken to one
/// line at a time over its stdin and stdout; its stderr is ours. Killed and reaped on
/// destruction if it has not exited.
class child {
  public:
    explicit child(const std::vector<std::string>& args);
    ~child();
    child(const child&) = delete;
    child& operator=(const child&) = delete;

    pid_t pid() const { return pid_; }
    void send_line(const std::string& line);
    /// The next line; throws when it does not come within `timeout` or the child closed
    /// its stdout (exited).
    std::string read_line(std::chrono::milliseconds timeout);
    /// Waits for the child to exit; its exit status (128 + signal when killed).
    int wait();

  private:
    pid_t pid_ = -1;
    int to_child_ = -1;
    int from_child_ = -1;
    std::string buffer_;
    bool reaped_ = false;
};

}  // namespace chat::bench::ceiling
