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
    /// YAML's true/false (also yes/no, on/off).
    bool get_bool(const std::string& key, bool fallback);
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

/// Where a service's settings come from: a YAML file, then `--set key.path=value`
/// overrides applied on top in order (the value is parsed as YAML, so `[a, b]` is a list).
/// Implicit from a file name, so a bare file still works wherever a source is taken.
struct source {
    source(std::string config_file, std::vector<std::string> set = {})
        : file(std::move(config_file)), overrides(std::move(set)) {}
    source(const char* config_file) : file(config_file) {}

    std::string file;
    std::vector<std::string> overrides;
};

/// Applies one "key.path=value" override to a loaded tree, creating missing mappings;
/// throws config_error when it is malformed or a path crosses a value that is not a mapping.
void apply_override(YAML::Node& root, const std::string& assignment);

/// Loads a file and applies the source's overrides; the root section is named after the
/// file in errors. An override of an unknown key fails like a typo in the file.
section load_file(const source& from);

}  // namespace chat::config
