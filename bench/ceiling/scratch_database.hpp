#pragma once

#include <filesystem>
#include <string>

namespace chat::bench::ceiling {

/// A database of its own on the server of --pg-url, with the schema applied by
/// chat::db::migrate (what `chat migrate` and the test fixtures run); dropped, with any
/// connection still on it, on destruction.
class scratch_database {
  public:
    scratch_database(const std::string& admin_url, const std::filesystem::path& migrations);
    ~scratch_database();
    scratch_database(const scratch_database&) = delete;
    scratch_database& operator=(const scratch_database&) = delete;

    const std::string& name() const { return name_; }
    const std::string& url() const { return url_; }
    int schema_version() const { return version_; }

  private:
    std::string admin_url_;
    std::string name_;
    std::string url_;
    int version_ = 0;
};

}  // namespace chat::bench::ceiling
