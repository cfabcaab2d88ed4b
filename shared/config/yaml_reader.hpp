#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace chat::config {

/// A configuration file that cannot be used; the message names the file and the key.
struct config_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Parses "250ms", "5s", "2m", "12h", "30d" (a bare number means milliseconds).
std::chrono::milliseconds parse_duration(const std::string& text);

/// Reads one YAML mapping strictly: every key must be read, unknown keys are an error
/// (finish() checks), so a typo in a config never passes silently.
class section {
public:
    section(YAML::Node node, std::string path);

    section child(const std::string& key);
    bool has(const std::string& key) const;

    std::string get_string(const std::string& key, const std::string& fallback);
    std::string require_string(const std::string& key);
    int get_int(const std::string& key, int fallback, int min, int max);
    std::chrono::milliseconds get_duration(const std::string& key, std::chrono::milliseconds fallback);
    /// A sequence of strings; empty when the key is absent.
    std::vector<std::string> get_string_list(const std::string& key);

    /// Throws config_error naming any key that was present but never read.
    void finish() const;

private:
    /// The value under `key`, or nothing when the key is absent.
    std::optional<YAML::Node> scalar(const std::string& key);

    YAML::Node node_;
    std::string path_;
    std::set<std::string> read_;
};

/// Loads a file; the root section is named after it in errors.
section load_file(const std::string& file);

}  // namespace chat::config
