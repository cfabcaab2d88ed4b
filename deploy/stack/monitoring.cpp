#include "deploy/stack/monitoring.hpp"

#include <algorithm>
#include <stdexcept>

#include "deploy/stack/files.hpp"
#include "deploy/stack/net.hpp"
#include "deploy/stack/wait.hpp"

namespace chat::stack {
namespace {

std::string exporter_name(const std::string& node) { return "exporter-" + node; }

std::string address(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

std::string quoted(const std::string& text) { return nlohmann::json(text).dump(); }

// One scrape job: its targets, each labelled with its process name.
std::string job(const std::string& name, const std::vector<scrape_target>& targets) {
    std::string text = "  - job_name: " + quoted(name) + "\n    static_configs:\n";
    for (const auto& target : targets)
        if (target.job == name)
            text += "      - targets: [" + quoted(address(target.port)) + "]\n        labels: {name: " +
                    quoted(target.name) + "}\n";
    return text;
}

std::vector<scrape_target> all_targets(const monitoring_options& options) {
    auto targets = options.services;
    for (const auto& database : options.databases)
        targets.push_back({"postgres", database.name, database.exporter_port});
    targets.push_back({"prometheus", monitoring::k_prometheus, options.port});
    return targets;
}

}  // namespace

std::string exporter_url(const std::string& url) {
    if (url.find("sslmode=") != std::string::npos) return url;
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "sslmode=disable";
}

std::string prometheus_config(const monitoring_options& options) {
    const auto interval = std::to_string(options.scrape_interval.count()) + "s";
    std::string text =
        "# Written by chat-stack for this system; the package's example is\n"
        "# deploy/prometheus/prometheus.yml.\n"
        "global:\n"
        "  scrape_interval: " + interval + "\n"
        "  scrape_timeout: " + interval + "\n"
        "  evaluation_interval: " + interval + "\n"
        "rule_files:\n"
        "  - " + quoted((options.config_dir / "alerts.yml").string()) + "\n"
        "scrape_configs:\n";
    const auto targets = all_targets(options);
    std::vector<std::string> jobs;
    for (const auto& target : targets)
        if (std::find(jobs.begin(), jobs.end(), target.job) == jobs.end()) jobs.push_back(target.job);
    for (const auto& name : jobs) text += job(name, targets);
    return text;
}

monitoring::monitoring(monitoring_options options) : options_(std::move(options)) {
    if (options_.port == 0) options_.port = free_port();
    for (auto& database : options_.databases)
        if (database.exporter_port == 0) database.exporter_port = free_port();
    std::filesystem::create_directories(conf_dir() / "data");
    try {
        for (const auto& database : options_.databases) start_exporter(database);
        write_file(conf_dir() / "prometheus.yml", prometheus_config(options_));
        start_prometheus();
        std::string down;
        const bool up = wait_until(
            [&] {
                down = targets_down();
                return down.empty() || !prometheus_->running();
            },
            options_.ready_timeout, 200ms);
        if (!up || !prometheus_->running())
            throw std::runtime_error("Prometheus on port " + std::to_string(options_.port) +
                                     " does not see every target up: " + down + "\n" + prometheus_->describe(20));
    } catch (...) {
        stop();
        throw;
    }
}

monitoring::monitoring(const nlohmann::json& state, bool detached) {
    options_.dir = state.at("dir").get<std::string>();
    options_.port = state.at("port").get<std::uint16_t>();
    options_.detached = detached;
    for (const auto& t : state.at("targets"))
        if (t.at("job") != "postgres" && t.at("job") != "prometheus")
            options_.services.push_back({t.at("job"), t.at("name"), t.at("port")});
    auto adopt = [&](const nlohmann::json& process) {
        spawn_options spawn;
        spawn.log_file = process.at("log").get<std::string>();
        spawn.env = process.value("env", std::vector<std::string>{});
        spawn.detached = detached;
        return std::make_unique<child_process>(
            process.at("argv").get<std::vector<std::string>>(), spawn,
            process_id{process.at("pid").get<pid_t>(), process.value("start_time", 0ULL)});
    };
    for (const auto& exporter : state.at("exporters")) {
        options_.databases.push_back({exporter.at("node"), "", exporter.at("port")});
        exporters_.push_back(adopt(exporter));
    }
    prometheus_ = adopt(state.at("prometheus"));
}

monitoring::~monitoring() {
    if (options_.detached)
        release();
    else
        stop();
}

void monitoring::start_exporter(const watched_database& database) {
    const auto program = find_program("prometheus-postgres-exporter");
    if (program.empty())
        throw std::runtime_error("prometheus-postgres-exporter is not installed (deploy/install-packages.sh)");
    spawn_options spawn;
    spawn.log_file = conf_dir() / (exporter_name(database.name) + ".log");
    spawn.detached = options_.detached;
    // The URL goes in the environment, where the exporter reads it: not in argv for ps.
    spawn.env = {"DATA_SOURCE_NAME=" + exporter_url(database.admin_url)};
    exporters_.push_back(std::make_unique<child_process>(
        std::vector<std::string>{program.string(), "--web.listen-address=" + address(database.exporter_port),
                                 "--extend.query-path=" + (options_.config_dir / "postgres-queries.yaml").string(),
                                 "--disable-settings-metrics", "--log.level=warn"},
        spawn));
}

void monitoring::start_prometheus() {
    const auto program = find_program("prometheus");
    if (program.empty()) throw std::runtime_error("prometheus is not installed (deploy/install-packages.sh)");
    spawn_options spawn;
    spawn.log_file = conf_dir() / "prometheus.log";
    spawn.detached = options_.detached;
    prometheus_ = std::make_unique<child_process>(
        std::vector<std::string>{program.string(), "--config.file=" + (conf_dir() / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (conf_dir() / "data").string(),
                                 "--storage.tsdb.retention.time=15d",
                                 "--web.listen-address=" + address(options_.port), "--log.level=warn"},
        spawn);
}

std::vector<std::string> monitoring::names() const {
    std::vector<std::string> all;
    for (const auto& database : options_.databases) all.push_back(exporter_name(database.name));
    all.push_back(k_prometheus);
    return all;
}

child_process* monitoring::process_named(const std::string& name) {
    if (name == k_prometheus) return prometheus_.get();
    for (std::size_t i = 0; i < exporters_.size(); ++i)
        if (name == exporter_name(options_.databases[i].name)) return exporters_[i].get();
    return nullptr;
}

std::string monitoring::targets_down() const {
    const auto response = http_get(options_.port, "/api/v1/targets?state=active", 1s);
    if (!response || response->status != 200) return "Prometheus does not answer /api/v1/targets";
    const auto body = nlohmann::json::parse(response->body, nullptr, false);
    if (!body.is_object() || !body.contains("data")) return "an unreadable /api/v1/targets";
    std::string down;
    std::size_t up = 0;
    for (const auto& target : body["data"].value("activeTargets", nlohmann::json::array())) {
        const auto labels = target.value("labels", nlohmann::json::object());
        if (target.value("health", "") == "up") {
            ++up;
            continue;
        }
        down += " " + labels.value("job", "?") + "/" + labels.value("name", "?") + " (" +
                target.value("health", "?") + " " + target.value("lastError", "") + ")";
    }
    const auto expected = all_targets(options_).size();
    if (down.empty() && up != expected)
        down = " " + std::to_string(up) + " of " + std::to_string(expected) + " targets up";
    return down.empty() ? "" : down.substr(1);
}

void monitoring::stop() {
    if (prometheus_) prometheus_->stop(std::chrono::seconds(10));
    for (auto& exporter : exporters_) exporter->stop();
}

void monitoring::release() {
    if (prometheus_) prometheus_->release();
    for (auto& exporter : exporters_) exporter->release();
}

nlohmann::json monitoring::to_json() {
    auto process = [](child_process& p) {
        return nlohmann::json{{"pid", p.pid()},
                              {"start_time", p.id().start_time},
                              {"log", p.log_file().string()},
                              {"argv", p.argv()},
                              {"running", p.running()}};
    };
    nlohmann::json j{{"name", k_prometheus}, {"url", url()}, {"port", options_.port}, {"dir", options_.dir.string()}};
    j["prometheus"] = process(*prometheus_);
    j["exporters"] = nlohmann::json::array();
    for (std::size_t i = 0; i < exporters_.size(); ++i) {
        auto e = process(*exporters_[i]);
        e["node"] = options_.databases[i].name;
        e["port"] = options_.databases[i].exporter_port;
        e["env"] = exporters_[i]->options().env;
        j["exporters"].push_back(e);
    }
    j["targets"] = nlohmann::json::array();
    for (const auto& target : all_targets(options_))
        j["targets"].push_back({{"job", target.job}, {"name", target.name}, {"port", target.port}});
    return j;
}

}  // namespace chat::stack
