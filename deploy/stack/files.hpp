#pragma once

#include <filesystem>
#include <string>

namespace chat::stack {

/// The whole file, or "" when it cannot be read.
std::string read_file(const std::filesystem::path& path);

/// The last `lines` lines of a file, for failure messages.
std::string tail_file(const std::filesystem::path& path, std::size_t lines = 40);

/// Writes (replaces) a file; throws when it cannot.
void write_file(const std::filesystem::path& path, const std::string& text);

/// 192 random bits from the kernel as 48 hex characters: a password or token with
/// nothing to quote in a config file, a URL, a passfile or SQL.
std::string random_secret();

/// Writes (replaces) a file only its owner may read or write (0600 from the start: a
/// secret is never readable by others, not even for a moment); throws when it cannot.
void write_private_file(const std::filesystem::path& path, const std::string& text);

/// Creates `dir` (and its parents) if needed and makes it 0700.
void make_private_dir(const std::filesystem::path& dir);

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

/// The directory the build puts chat-broker, chat-logic, chat-dispatcher and chat in.
std::filesystem::path bin_dir();

/// The source tree: migrations/, deploy/config/ and web/ are found from here, and the
/// services run in it (web_root is relative).
std::filesystem::path source_dir();

/// bin_dir() / name; throws with a clear message when the binary has not been built.
std::filesystem::path binary(const std::string& name);

/// Finds a program such as nats-server on PATH (then in /usr/sbin, /usr/local/bin);
/// empty when it is nowhere.
std::filesystem::path find_program(const std::string& name);

/// PostgreSQL's server programs (initdb, postgres, pg_basebackup, psql):
/// /usr/lib/postgresql/<newest of 15, 16, 17, 14, 13>/bin, or $PG_BIN; empty when none.
/// PITFALLS: /usr/local/bin/initdb and friends may exist and belong to no package.
std::filesystem::path postgres_bin_dir();

}  // namespace chat::stack
