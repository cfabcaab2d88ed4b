#include "shared/config/yaml_reader.hpp"

#include <fmt/format.h>

#include <cctype>

namespace chat::config {

std::chrono::milliseconds parse_duration(const std::string& text) {
    std::size_t pos = 0;
    long long value = 0;
    try {
        value = std::stoll(text, &pos);
    } catch (const std::exception&) {
        throw config_error(fmt::format("'{}' is not a duration (use e.g. 250ms, 5s, 2m, 12h, 30d)", text));
    }
    const auto unit = text.substr(pos);
    if (value < 0) throw config_error(fmt::format("duration '{}' is negative", text));
    if (unit.empty() || unit == "ms") return std::chrono::milliseconds(value);
    if (unit == "s") return std::chrono::seconds(value);
    if (unit == "m") return std::chrono::minutes(value);
    if (unit == "h") return std::chrono::hours(value);
    if (unit == "d") return std::chrono::hours(24 * value);
    throw config_error(fmt::format("'{}' has an unknown unit (use ms, s, m, h or d)", text));
}

section::section(YAML::Node node, std::string path) : node_(std::move(node)), path_(std::move(path)) {
    if (node_ && !node_.IsNull() && !node_.IsMap())
        throw config_error(fmt::format("{} must be a mapping", path_));
}

bool section::has(const std::string& key) const { return node_ && node_.IsMap() && node_[key]; }

section section::child(const std::string& key) {
    read_.insert(key);
    return section(has(key) ? node_[key] : YAML::Node(), path_ + "." + key);
}

std::optional<YAML::Node> section::scalar(const std::string& key) {
    read_.insert(key);
    if (!has(key)) return std::nullopt;
    auto value = node_[key];
    if (!value.IsScalar()) throw config_error(fmt::format("{}.{} must be a single value", path_, key));
    return value;
}

std::string section::get_string(const std::string& key, const std::string& fallback) {
    auto value = scalar(key);
    return value ? value->as<std::string>() : fallback;
}

std::string section::require_string(const std::string& key) {
    auto value = scalar(key);
    if (!value) throw config_error(fmt::format("{}.{} is required", path_, key));
    return value->as<std::string>();
}

int section::get_int(const std::string& key, int fallback, int min, int max) {
    auto value = scalar(key);
    if (!value) return fallback;
    int result;
    try {
        result = value->as<int>();
    } catch (const YAML::Exception&) {
        throw config_error(fmt::format("{}.{} must be an integer", path_, key));
    }
    if (result < min || result > max)
        throw config_error(fmt::format("{}.{} must be between {} and {}", path_, key, min, max));
    return result;
}

bool section::get_bool(const std::string& key, bool fallback) {
    auto value = scalar(key);
    if (!value) return fallback;
    try {
        return value->as<bool>();
    } catch (const YAML::Exception&) {
        throw config_error(fmt::format("{}.{} must be true or false", path_, key));
    }
}

std::chrono::milliseconds section::get_duration(const std::string& key, std::chrono::milliseconds fallback) {
    auto value = scalar(key);
    if (!value) return fallback;
    try {
        return parse_duration(value->as<std::string>());
    } catch (const config_error& e) {
        throw config_error(fmt::format("{}.{}: {}", path_, key, e.what()));
    }
}

std::vector<std::string> section::get_string_list(const std::string& key) {
    read_.insert(key);
    std::vector<std::string> out;
    if (!has(key)) return out;
    auto value = node_[key];
    if (!value.IsSequence()) throw config_error(fmt::format("{}.{} must be a list", path_, key));
    for (const auto& item : value) {
        if (!item.IsScalar()) throw config_error(fmt::format("{}.{} must be a list of strings", path_, key));
        out.push_back(item.as<std::string>());
    }
    return out;
}

void section::finish() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& entry : node_) {
        const auto key = entry.first.as<std::string>();
        if (!read_.count(key)) throw config_error(fmt::format("{}: unknown key '{}'", path_, key));
    }
}

void apply_override(YAML::Node& root, const std::string& assignment) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        throw config_error(fmt::format("--set '{}': expected key.path=value", assignment));
    const auto path = assignment.substr(0, eq);
    YAML::Node value;
    try {
        value = YAML::Load(assignment.substr(eq + 1));
    } catch (const YAML::Exception& e) {
        throw config_error(fmt::format("--set {}: the value is not YAML: {}", path, e.what()));
    }
    if (!value.IsDefined() || value.IsNull()) value = YAML::Node(std::string());
    // yaml-cpp nodes are handles: walk with fresh ones (operator= on a handle would
    // overwrite the node it points to instead of moving the handle).
    std::vector<YAML::Node> chain{root};
    std::size_t start = 0;
    while (true) {
        const auto dot = path.find('.', start);
        const auto key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (key.empty()) throw config_error(fmt::format("--set '{}': empty key in the path", assignment));
        auto& parent = chain.back();
        if (parent.IsDefined() && !parent.IsMap() && !parent.IsNull())
            throw config_error(fmt::format("--set {}: '{}' is inside a value that is not a mapping", path, key));
        if (dot == std::string::npos) {
            parent[key] = value;
            return;
        }
        chain.push_back(parent[key]);
        start = dot + 1;
    }
}

section load_file(const source& from) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(from.file);
    } catch (const YAML::Exception& e) {
        throw config_error(fmt::format("cannot read config {}: {}", from.file, e.what()));
    }
    if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    for (const auto& assignment : from.overrides) apply_override(root, assignment);
    return section(root, from.file);
}

}  // namespace chat::config
