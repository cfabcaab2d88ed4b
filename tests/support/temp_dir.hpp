#pragma once

#include <filesystem>
#include <string>

namespace chat::test {

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on
/// destruction unless `keepable` and CHAT_TEST_KEEP is set in the environment (to read
/// the logs of a failed run).
class temp_dir {
  public:
    explicit temp_dir(const std::string& prefix = "chat-test", bool keepable = true);
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
    bool keepable_;
};

}  // namespace chat::test
