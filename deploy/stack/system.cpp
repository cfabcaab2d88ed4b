#include "deploy/stack/system.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

#include "deploy/stack/bus_users.hpp"
#include "deploy/stack/net.hpp"
#include "deploy/stack/roles.hpp"
#include "deploy/stack/tls.hpp"
#include "deploy/stack/wait.hpp"

namespace chat::stack {
namespace {

using namespace std::chrono_literals;

constexpr std::uint16_t k_broker_port = 8080;
// Logic's and the dispatcher's status listeners (/metrics, /healthz, /readyz) with
// --fixed-ports: logic-1 18301, dispatcher-1 18302, logic-2 18303, dispatcher-2 18304...
constexpr std::uint16_t k_status_port = 18301;
// Logic's admin listeners (moderation) with --fixed-ports: logic-1 18300, logic-2 18310...
constexpr std::uint16_t k_moderation_port = 18300;
constexpr std::uint16_t k_nats_port = 14222;
constexpr std::uint16_t k_nats_monitor_port = 18222;
constexpr std::uint16_t k_nats_cluster_port = 16222;
constexpr std::uint16_t k_postgres_port = 15432;
constexpr std::uint16_t k_pg_monitor_port = 15431;  // pg_auto_failover's monitor
constexpr std::uint16_t k_prometheus_port = 9090;
constexpr std::uint16_t k_postgres_exporter_port = 9187;  // the exporters' usual port, +1 per node

const service_kind k_kinds[] = {service_kind::broker, service_kind::logic, service_kind::dispatcher};

std::string broker_id_of(std::size_t index) { return "b" + std::to_string(index + 1); }

service_kind kind_from(const std::string& name) {
    for (auto kind : k_kinds)
        if (name == kind_name(kind)) return kind;
    throw std::invalid_argument("unknown service kind '" + name + "' (broker, logic or dispatcher)");
}

// The probe: a request only logic can answer, after reading PostgreSQL, that changes
// nothing. "Nobody answered" comes back from the broker as code 2.
const std::string k_probe =
    R"({"cmd":"RECONNECT","accountId":999999999,"token":")" + std::string(64, '0') + R"("})";

}  // namespace

void cluster_shape(options& o) {
    o.postgres_ha = true;
    o.locked_bus = true;
    o.nats_tls = true;
    o.nats_nodes = 3;
    o.brokers = 2;
    o.logics = 2;
    o.dispatchers = 2;
    o.nginx = true;
    o.monitoring = true;
}

const char* kind_name(service_kind kind) {
    switch (kind) {
        case service_kind::broker: return "broker";
        case service_kind::logic: return "logic";
        case service_kind::dispatcher: return "dispatcher";
    }
    return "?";
}

std::vector<service_kind> kinds_for(const std::string& set, const std::filesystem::path& config_dir,
                                    std::string& assignment) {
    auto colon = set.find(':');
    auto equals = set.find('=');
    if (equals == std::string::npos) throw std::invalid_argument("--set " + set + ": expected key.path=value");
    if (colon != std::string::npos && colon < equals) {
        assignment = set.substr(colon + 1);
        return {kind_from(set.substr(0, colon))};
    }
    assignment = set;
    // The kinds whose config has the whole key path (http.allowed_origins is the broker's
    // although logic has an http section too); failing that, those with its section.
    const auto key = set.substr(0, equals);
    const auto top = key.substr(0, key.find('.'));
    // (Recursion, not a loop: assigning one yaml-cpp Node to another rewrites the tree.)
    std::function<bool(const YAML::Node&, std::size_t)> has_path = [&](const YAML::Node& node, std::size_t start) {
        if (start > key.size()) return true;
        const auto dot = std::min(key.find('.', start), key.size());
        if (!node.IsMap()) return false;
        const YAML::Node child = node[key.substr(start, dot - start)];
        return child && has_path(child, dot + 1);
    };
    std::vector<service_kind> kinds, with_section;
    for (auto kind : k_kinds) {
        const auto config = YAML::LoadFile((config_dir / (std::string(kind_name(kind)) + ".yaml")).string());
        if (has_path(config, 0)) kinds.push_back(kind);
        if (config[top]) with_section.push_back(kind);
    }
    if (kinds.empty()) kinds = with_section;
    if (kinds.empty())
        throw std::invalid_argument("--set " + set + ": no service config in " + config_dir.string() +
                                    " has a '" + top + "' section");
    return kinds;
}

system::system(options opts) : options_(std::move(opts)) {
    if (options_.bin_dir.empty()) options_.bin_dir = bin_dir();
    if (options_.config_dir.empty()) options_.config_dir = source_dir() / "deploy/config";
    if (options_.migrations.empty()) options_.migrations = source_dir() / "migrations";
    bool created = false;
    if (options_.dir.empty()) {
        own_dir_ = std::make_unique<temp_dir>("chat-stack");
        dir_ = own_dir_->path();
        created = true;
    } else {
        created = std::filesystem::create_directories(options_.dir);
        dir_ = std::filesystem::canonical(options_.dir);
    }
    // PostgreSQL may run as another user (as root: postgres), who must pass through a
    // directory we made (mkdtemp makes them 0700); the user's own stay as they are.
    if (created) {
        using std::filesystem::perms;
        std::filesystem::permissions(dir_, perms::group_exec | perms::others_exec,
                                     std::filesystem::perm_options::add);
    }
    // Check the overrides before anything starts.
    for (auto& set : options_.sets) {
        std::string assignment;
        kinds_for(set, options_.config_dir, assignment);
    }
    try {
        if (options_.postgres && options_.database_url.empty()) start_postgres();
        if (!options_.database_url.empty()) {
            passfile_ = options_.passfile;
            use_database(options_.database_url, options_.database_url);
        }
        if (options_.nats) start_nats();
        if (options_.services) {
            if (database_url_.empty()) throw std::invalid_argument("the services need PostgreSQL");
            if (nats_.empty()) throw std::invalid_argument("the services need NATS");
            moderation_token_file_ = dir_ / "moderation-token";
            if (!std::filesystem::exists(moderation_token_file_))
                write_private_file(moderation_token_file_, random_secret() + "\n");
            auto brokers = [&] {
                for (int i = 0; i < options_.brokers; ++i) add_service(service_kind::broker, i);
            };
            if (options_.brokers_first) brokers();
            for (int i = 0; i < options_.logics; ++i) add_service(service_kind::logic, i);
            for (int i = 0; i < options_.dispatchers; ++i) add_service(service_kind::dispatcher, i);
            if (!options_.brokers_first) brokers();
        }
        auto missing = wait_ready(options_.ready_timeout);
        // The front door opens once the brokers behind it answer.
        if (missing.empty() && options_.nginx) {
            start_nginx();
            missing = wait_ready(options_.ready_timeout);
        }
        if (!missing.empty())
            throw std::runtime_error("the system did not become ready: " + missing + "\n" + logs());
        // Last: Prometheus is ready once it has scraped every one of them.
        if (options_.monitoring) start_monitoring();
        if (options_.detached) write_state();
    } catch (...) {
        // A half-started system is no use to anyone, detached or not.
        shutdown();
        throw;
    }
}

std::unique_ptr<system> system::attach(const std::filesystem::path& dir) {
    auto file = dir / "state.json";
    std::ifstream in(file);
    if (!in) throw std::runtime_error("no system in " + dir.string() + " (no state.json)");
    auto state = nlohmann::json::parse(in);
    std::unique_ptr<system> s(new system());
    s->dir_ = std::filesystem::canonical(dir);
    s->options_.detached = true;
    s->options_.dir = s->dir_;
    s->options_.bin_dir = state.value("bin_dir", std::string());
    s->options_.config_dir = state.value("config_dir", std::string());
    s->database_url_ = state.value("database_url", std::string());
    s->admin_url_ = state.value("admin_url", std::string());
    s->passfile_ = state.value("passfile", std::string());
    s->moderation_token_file_ = state.value("moderation_token_file", std::string());
    if (state.contains("database_urls"))
        s->role_urls_ = state["database_urls"].get<std::map<std::string, std::string>>();
    for (auto& node : state["postgres"]) s->postgres_.push_back(std::make_unique<postgres_node>(node, true));
    if (state.contains("postgres_ha") && state["postgres_ha"].is_object())
        s->postgres_ha_ = std::make_unique<postgres_ha>(state["postgres_ha"], true);
    for (auto& node : state["nats"]) s->nats_.push_back(std::make_unique<nats_server>(node, true));
    if (state.contains("nginx")) s->nginx_ = std::make_unique<nginx_server>(state["nginx"], true);
    if (state.contains("monitoring")) s->monitoring_ = std::make_unique<class monitoring>(state["monitoring"], true);
    if (auto bus = state.value("nats_security", nlohmann::json::object()); bus.is_object()) {
        const auto files = bus.value("password_files", nlohmann::json::object());
        for (auto& [name, file] : files.items())
            s->nats_users_.push_back({name, "", file.get<std::string>(), {}, {}, false});
        s->nats_tls_ = {bus.value("ca_file", std::string()), bus.value("cert_file", std::string()),
                        bus.value("key_file", std::string())};
    }
    for (auto& entry : state["services"]) {
        spawn_options spawn;
        spawn.log_file = entry.at("log").get<std::string>();
        spawn.cwd = state.value("cwd", source_dir().string());
        spawn.detached = true;
        service svc{entry.at("name"), kind_from(entry.at("kind")), entry.value("id", std::string()),
                    entry.value("port", std::uint16_t{0}), entry.value("moderation_port", std::uint16_t{0}), nullptr};
        svc.process = std::make_unique<child_process>(
            entry.at("argv").get<std::vector<std::string>>(), spawn,
            process_id{entry.at("pid").get<pid_t>(), entry.value("start_time", 0ULL)});
        s->services_.push_back(std::move(svc));
    }
    s->options_.brokers = static_cast<int>(s->count(service_kind::broker));
    return s;
}

system::~system() {
    if (options_.detached) {
        if (monitoring_) monitoring_->release();
        if (nginx_) nginx_->release();
        for (auto& svc : services_) svc.process->release();
        for (auto& node : nats_) node->release();
        for (auto& node : postgres_) node->release();
        if (postgres_ha_) postgres_ha_->release();
        return;
    }
    shutdown();
}

void system::shutdown() {
    if (monitoring_) monitoring_->stop();
    if (nginx_) nginx_->stop();
    for (auto it = services_.rbegin(); it != services_.rend(); ++it) it->process->stop();
    for (auto it = nats_.rbegin(); it != nats_.rend(); ++it) (*it)->stop();
    for (auto it = postgres_.rbegin(); it != postgres_.rend(); ++it) (*it)->stop();
    if (postgres_ha_) postgres_ha_->shutdown();
}

void system::start_postgres() {
    // The roles' passwords: made with the system, kept for its next start.
    role_secrets secrets(dir_ / "secrets");
    passfile_ = secrets.passfile();
    const auto admin = options_.postgres_ha ? start_postgres_ha() : start_postgres_nodes();
    // As superuser, once: the roles with LOGIN, the database theirs. From here on the
    // schema is chat_owner's business (migrations as chat_owner).
    create_login_roles(admin, secrets, dir_);
    give_database_to_owner(admin, options_.database, dir_);
    if (postgres_ha_) postgres_ha_->require_passwords(std::vector<std::string>(k_roles.begin(), k_roles.end()));
    const auto database_admin = url_with_database(admin, options_.database);
    use_database(database_admin, postgres_ha_ ? postgres_ha_->url(options_.database, k_owner_role, passfile_)
                                              : url_as(database_admin, k_owner_role, passfile_));
    if (options_.services)
        migrate(database_url_, dir_ / ("migrate-" + options_.database + ".log"), options_.bin_dir / "chat",
                options_.migrations);
    for (auto& extension : options_.pg_extensions)
        psql(database_admin, "CREATE EXTENSION IF NOT EXISTS " + extension, dir_);
}

// The plain primary (and standby); returns the superuser's URL.
std::string system::start_postgres_nodes() {
    postgres_options primary;
    primary.name = "postgres";
    primary.dir = dir_ / "postgres";
    primary.port = options_.fixed_ports ? k_postgres_port : 0;
    primary.durable = options_.pg_durable;
    primary.tuned = options_.pg_tuned;
    primary.settings = options_.pg_settings;
    primary.detached = options_.detached;
    postgres_.push_back(std::make_unique<postgres_node>(primary));
    auto& pg = *postgres_.front();
    // The standby first: with a synchronous one (set on an earlier run too), every commit
    // below waits for it.
    if (options_.standby) {
        postgres_options standby = primary;
        standby.name = "standby";
        standby.port = options_.fixed_ports ? k_postgres_port + 1 : 0;
        standby.primary_port = pg.port();
        postgres_.push_back(std::make_unique<postgres_node>(standby));
    }
    // ALTER SYSTEM outlives the run: a data directory reused without --synchronous must
    // not keep waiting for a standby.
    if (options_.synchronous || pg.psql("SHOW synchronous_standby_names") != "")
        pg.set_synchronous_standby(options_.standby && options_.synchronous ? "standby" : "");
    return pg.url_for("postgres");
}

// pg_auto_failover's monitor and two nodes; returns the superuser's URL of both nodes
// (it reaches whichever is primary).
std::string system::start_postgres_ha() {
    postgres_ha_options ha;
    ha.dir = dir_ / "postgres-ha";
    if (options_.fixed_ports) {
        ha.monitor_port = k_pg_monitor_port;
        ha.node_ports[0] = k_postgres_port;
        ha.node_ports[1] = k_postgres_port + 1;
    }
    ha.fast_failover = options_.pg_fast_failover;
    ha.detached = options_.detached;
    postgres_ha_ = std::make_unique<postgres_ha>(ha);
    return postgres_ha_->url("postgres", "postgres");
}

// The URLs of the chat database: as superuser, as its owner, and as each service's role.
void system::use_database(const std::string& admin_url, const std::string& owner_url) {
    admin_url_ = admin_url;
    database_url_ = owner_url;
    role_urls_[k_owner_role] = owner_url;
    for (auto role : {k_logic_role, k_dispatcher_role})
        role_urls_[role] = postgres_ha_ ? postgres_ha_->url(options_.database, role, passfile_)
                                        : url_as(admin_url, role, passfile_);
}

void system::start_nats() {
    const int n = std::max(1, options_.nats_nodes);
    std::vector<nats_options> nodes(n);
    for (int i = 0; i < n; ++i) {
        auto& node = nodes[i];
        node.name = n == 1 ? "nats" : "nats-" + std::to_string(i + 1);
        node.dir = dir_;
        node.detached = options_.detached;
        if (options_.fixed_ports) {
            node.port = k_nats_port + i;
            node.monitor_port = k_nats_monitor_port + i;
        }
        if (n > 1) {
            node.cluster_name = "chat";
            node.cluster_port = options_.fixed_ports ? k_nats_cluster_port + i : free_port();
        }
    }
    for (int i = 0; i < n && n > 1; ++i)
        for (int j = 0; j < n; ++j)
            if (j != i) nodes[i].routes.push_back(nodes[j].cluster_port);
    if (options_.locked_bus) {
        // Every broker id is known now, so each broker gets a user of its own.
        std::vector<std::string> ids;
        for (int i = 0; i < options_.brokers; ++i) ids.push_back(broker_id_of(i));
        nats_users_ = bus_users(ids);
        std::vector<nats_user> route(1);
        route.front().name = k_route_user;
        load_or_make_passwords(nats_users_, dir_ / "secrets");
        load_or_make_passwords(route, dir_ / "secrets");
        for (auto& node : nodes) {
            node.users = nats_users_;
            node.route_user = route.front();
        }
    }
    if (options_.nats_tls) {
        nats_tls_ = make_server_certificate(dir_ / "tls");
        for (auto& node : nodes) node.tls = nats_tls_;
    }
    for (auto& node : nodes) nats_.push_back(std::make_unique<nats_server>(node));
}

void system::start_nginx() {
    nginx_options front;
    front.dir = dir_;
    front.port = options_.fixed_ports ? k_broker_port : 0;
    for (std::size_t i = 0; i < count(service_kind::broker); ++i) front.brokers.push_back(broker_port(i));
    front.web_root = source_dir() / "web/dist";
    front.detached = options_.detached;
    nginx_ = std::make_unique<nginx_server>(front);
}

void system::start_monitoring() {
    monitoring_options watch;
    watch.dir = dir_;
    watch.port = options_.fixed_ports ? k_prometheus_port : 0;
    watch.scrape_interval = options_.scrape_interval;
    watch.config_dir = source_dir() / "deploy/prometheus";
    watch.detached = options_.detached;
    watch.ready_timeout = options_.ready_timeout;
    for (auto& svc : services_)
        watch.services.push_back({std::string("chat-") + kind_name(svc.kind), svc.name, svc.port});
    auto watch_database = [&](const std::string& name, const std::string& url) {
        const auto port = options_.fixed_ports ? k_postgres_exporter_port + watch.databases.size() : 0;
        watch.databases.push_back({name, url, static_cast<std::uint16_t>(port)});
    };
    for (auto& node : postgres_) watch_database(node->name(), node->url_for("postgres"));
    if (postgres_ha_)
        for (auto& name : postgres_ha_->names())
            if (name != postgres_ha::k_monitor) watch_database(name, postgres_ha_->admin_url(name));
    monitoring_ = std::make_unique<class monitoring>(watch);
}

const nats_user& system::nats_user_named(const std::string& name) const {
    for (const auto& user : nats_users_)
        if (user.name == name) return user;
    throw std::invalid_argument("no NATS user " + name + (nats_users_.empty() ? " (the bus is open)" : ""));
}

std::string system::nats_urls(std::size_t first) const {
    std::string urls;
    for (std::size_t i = 0; i < nats_.size(); ++i)
        urls += (urls.empty() ? "" : ",") + nats_[(first + i) % nats_.size()]->url();
    return urls;
}

std::vector<std::string> system::service_argv(service_kind kind, std::size_t index,
                                              const std::string& id, std::uint16_t port,
                                              std::uint16_t moderation_port) {
    const std::string name = kind_name(kind);
    std::vector<std::string> argv{(options_.bin_dir / ("chat-" + name)).string(), "--config",
                                  (options_.config_dir / (name + ".yaml")).string()};
    auto set = [&](const std::string& assignment) { argv.insert(argv.end(), {"--set", assignment}); };
    // Every node, each process of a kind starting at another one (cnats shuffles the list
    // anyway, and fails over to the others).
    set("nats.url=" + nats_urls(index));
    if (!nats_users_.empty()) {
        const auto& user = nats_user_named(kind == service_kind::broker ? broker_user_name(id)
                                           : kind == service_kind::logic ? k_logic_user
                                                                         : k_dispatcher_user);
        set("nats.user=" + user.name);
        set("nats.password_file=" + user.password_file.string());
    }
    if (!nats_tls_.empty()) set("nats.tls.ca_file=" + nats_tls_.ca_file.string());
    if (kind == service_kind::broker) {
        set("broker.id=" + id);
        set("broker.port=" + std::to_string(port));
        // nginx's X-Forwarded-For names each client's own address (per-address limits).
        if (options_.nginx) set("http.trusted_proxies=[127.0.0.1]");
    } else {
        set("postgres.url=" + role_url(kind == service_kind::logic ? k_logic_role : k_dispatcher_role));
        set("http.address=127.0.0.1");
        set("http.port=" + std::to_string(port));
    }
    if (kind == service_kind::logic) {
        set("admin.address=127.0.0.1");
        set("admin.port=" + std::to_string(moderation_port));
        set("admin.token_file=" + moderation_token_file_.string());
    }
    for (auto& user : options_.sets) {
        std::string assignment;
        for (auto k : kinds_for(user, options_.config_dir, assignment))
            if (k == kind) set(assignment);
    }
    return argv;
}

void system::add_service(service_kind kind, std::size_t index) {
    service svc;
    svc.kind = kind;
    if (kind == service_kind::broker) {
        svc.id = broker_id_of(index);
        // Behind nginx, the brokers leave it the first port.
        const auto first = k_broker_port + (options_.nginx ? 1 : 0);
        svc.port = options_.fixed_ports ? static_cast<std::uint16_t>(first + index) : free_port();
        svc.name = "broker-" + svc.id;
    } else {
        svc.name = std::string(kind_name(kind)) + "-" + std::to_string(index + 1);
        const auto fixed = k_status_port + 2 * index + (kind == service_kind::dispatcher ? 1 : 0);
        svc.port = options_.fixed_ports ? static_cast<std::uint16_t>(fixed) : free_port();
        if (kind == service_kind::logic)
            svc.moderation_port =
                options_.fixed_ports ? static_cast<std::uint16_t>(k_moderation_port + 10 * index) : free_port();
    }
    auto argv = service_argv(kind, index, svc.id, svc.port, svc.moderation_port);
    if (::access(argv[0].c_str(), X_OK) != 0)
        throw std::runtime_error(argv[0] + " is missing: build the project first");
    spawn_options spawn;
    spawn.log_file = dir_ / (svc.name + ".log");
    spawn.cwd = source_dir();  // web_root (web/dist) is relative to it
    spawn.detached = options_.detached;
    svc.process = std::make_unique<child_process>(std::move(argv), spawn);
    services_.push_back(std::move(svc));
}

std::size_t system::count(service_kind kind) const {
    std::size_t n = 0;
    for (auto& svc : services_) n += svc.kind == kind;
    return n;
}

service& system::get(service_kind kind, std::size_t index) {
    for (auto& svc : services_)
        if (svc.kind == kind && index-- == 0) return svc;
    throw std::out_of_range(std::string("no ") + kind_name(kind) + " number " + std::to_string(index));
}

std::vector<std::string> system::names() {
    std::vector<std::string> all;
    for (auto& node : postgres_) all.push_back(node->name());
    if (postgres_ha_)
        for (auto& name : postgres_ha_->names()) all.push_back(name);
    for (auto& node : nats_) all.push_back(node->name());
    for (auto& svc : services_) all.push_back(svc.name);
    if (nginx_) all.push_back(nginx_server::k_name);
    if (monitoring_)
        for (auto& name : monitoring_->names()) all.push_back(name);
    return all;
}

child_process* system::process_named(const std::string& name) {
    for (auto& node : postgres_)
        if (node->name() == name) return &node->postmaster();
    if (auto* keeper = postgres_ha_ ? postgres_ha_->keeper(name) : nullptr) return keeper;
    for (auto& node : nats_)
        if (node->name() == name) return &node->process();
    for (auto& svc : services_)
        if (svc.name == name) return svc.process.get();
    if (nginx_ && name == nginx_server::k_name) return &nginx_->process();
    if (monitoring_) return monitoring_->process_named(name);
    return nullptr;
}

void system::kill9(const std::string& name) {
    for (auto& node : postgres_)
        if (node->name() == name) return node->kill9();
    if (nginx_ && name == nginx_server::k_name) return nginx_->kill9();
    if (postgres_ha_ && postgres_ha_->keeper(name)) return postgres_ha_->kill9(name);
    auto* process = process_named(name);
    if (process == nullptr) throw std::invalid_argument("no process named " + name);
    process->kill9();
}

void system::stop(const std::string& name) {
    if (postgres_ha_ && postgres_ha_->keeper(name)) return postgres_ha_->stop(name);
    auto* process = process_named(name);
    if (process == nullptr) throw std::invalid_argument("no process named " + name);
    process->stop(std::chrono::seconds(20));
}

pid_t system::pid_of(const std::string& name) {
    auto* process = process_named(name);
    return process ? process->pid() : -1;
}

std::string system::postgres_primary() {
    if (postgres_ha_) {
        auto primary = postgres_ha_->primary();
        if (!primary) throw std::runtime_error("pg_auto_failover has no primary now");
        return *primary;
    }
    for (auto& node : postgres_)
        if (!node->standby()) return node->name();
    throw std::logic_error("this system has no PostgreSQL");
}

void system::start(const std::string& name, bool wait_for_system) {
    for (auto& node : postgres_)
        if (node->name() == name) {
            node->restart();
            if (options_.detached) write_state();
            return;
        }
    for (auto& node : nats_)
        if (node->name() == name) {
            node->restart();
            if (options_.detached) write_state();
            return;
        }
    if (nginx_ && name == nginx_server::k_name) {
        if (!nginx_->process().running()) nginx_->restart();
        if (options_.detached) write_state();
        return;
    }
    if (postgres_ha_ && postgres_ha_->keeper(name)) {
        postgres_ha_->start(name);  // `pg_autoctl run`, not the create command it began with
        if (options_.detached) write_state();
        postgres_ha_->wait_healthy(std::chrono::minutes(3));  // a rejoin (pg_rewind) included
        return;
    }
    auto* process = process_named(name);
    if (process == nullptr) throw std::invalid_argument("no process named " + name);
    if (!process->running()) process->restart();
    if (options_.detached) write_state();
    if (!wait_for_system) return;
    auto missing = wait_ready(options_.ready_timeout);
    if (!missing.empty()) throw std::runtime_error(name + " did not become ready: " + missing + "\n" + logs());
}

void system::rolling_restart(const std::function<void(const std::string&)>& progress) {
    std::vector<std::string> order;
    for (auto kind : {service_kind::dispatcher, service_kind::logic, service_kind::broker})
        for (auto& svc : services_)
            if (svc.kind == kind) order.push_back(svc.name);
    for (auto& node : nats_) order.push_back(node->name());
    for (auto& name : order) {
        const auto began = std::chrono::steady_clock::now();
        stop(name);
        start(name);
        auto missing = wait_ready(options_.ready_timeout);
        if (!missing.empty()) throw std::runtime_error("after restarting " + name + ": " + missing);
        const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
        char line[160];
        std::snprintf(line, sizeof line, "%s restarted, system ready again after %.1f s", name.c_str(), took);
        progress(line);
    }
}

bool system::broker_healthy(std::size_t index) {
    auto response = http_get(broker_port(index), "/healthz", 500ms);
    return response && response->status == 200;
}

bool system::probe(std::size_t index, std::string& last) {
    auto answer = ws_request(broker_port(index), k_probe, "RECONNECT", 5s);
    if (!answer) {
        last = "no RECONNECT answer from broker " + broker_id(index);
        return false;
    }
    last = *answer;
    auto json = nlohmann::json::parse(*answer, nullptr, false);
    return json.is_object() && json.contains("code") && json["code"] != 2;
}

// Subjects from shared/bus/subjects.hpp: logic's queue group on chat.cmd.>, the
// dispatchers' wake-up subject, each broker's push subject. Each process is found by
// its connection name in /connz of the node it uses, and every node must see every
// subject in /subsz: in a cluster, interest reaches the other nodes a moment later.
std::string system::subscriptions_missing() {
    std::size_t logics = 0, dispatchers = 0;
    std::set<std::string> pushes;
    for (auto& node : nats_) {
        auto connz = node->monitor("/connz?subs=detail&limit=100000");
        if (!connz.is_object()) return node->name() + " monitoring";
        for (auto& conn : connz.value("connections", nlohmann::json::array())) {
            auto name = conn.value("name", std::string());
            for (auto& sub : conn.value("subscriptions_list_detail", nlohmann::json::array())) {
                auto subject = sub.value("subject", std::string());
                if (name == "chat-logic" && subject.rfind("chat.cmd.", 0) == 0 &&
                    sub.value("qgroup", std::string()) == "chat-logic") {
                    ++logics;
                    break;
                }
                if (name == "chat-dispatcher" && subject.rfind("chat.dispatch.", 0) == 0) {
                    ++dispatchers;
                    break;
                }
                if (name.rfind("chat-broker-", 0) == 0 && subject == "broker." + name.substr(12) + ".push")
                    pushes.insert(subject);
            }
        }
    }
    std::string missing;
    if (logics < count(service_kind::logic))
        missing += std::to_string(count(service_kind::logic) - logics) + " logic subscriber(s) ";
    if (dispatchers < count(service_kind::dispatcher))
        missing += std::to_string(count(service_kind::dispatcher) - dispatchers) + " dispatcher subscriber(s) ";
    for (auto& svc : services_)
        if (svc.kind == service_kind::broker && !pushes.count("broker." + svc.id + ".push"))
            missing += "broker." + svc.id + ".push ";
    if (!missing.empty() || nats_.size() < 2) return missing;
    for (auto& node : nats_) {
        // A node's own subscriptions (/subsz) and what its routes told it (/routez).
        std::set<std::string> seen;
        auto note = [&](const std::string& subject, const std::string& qgroup) {
            if (subject.rfind("chat.cmd.", 0) == 0 && qgroup == "chat-logic")
                seen.insert("chat-logic");
            else if (subject.rfind("chat.dispatch.", 0) == 0)
                seen.insert("chat-dispatcher");
            else
                seen.insert(subject);
        };
        auto subsz = node->monitor("/subsz?subs=1&limit=100000");
        for (auto& sub : subsz.value("subscriptions_list", nlohmann::json::array()))
            note(sub.value("subject", std::string()), sub.value("qgroup", std::string()));
        auto routez = node->monitor("/routez?subs=detail");
        for (auto& route : routez.value("routes", nlohmann::json::array())) {
            for (auto& sub : route.value("subscriptions_list_detail", nlohmann::json::array()))
                note(sub.value("subject", std::string()), sub.value("qgroup", std::string()));
        }
        std::vector<std::string> wanted;
        if (count(service_kind::logic) > 0) wanted.push_back("chat-logic");
        if (count(service_kind::dispatcher) > 0) wanted.push_back("chat-dispatcher");
        for (auto& push : pushes) wanted.push_back(push);
        for (auto& want : wanted)
            if (!seen.count(want)) missing += want + " not yet on " + node->name() + " ";
    }
    return missing;
}

std::string system::wait_ready(std::chrono::milliseconds timeout) {
    std::string missing;
    wait_until(
        [&] {
            missing = dead_processes();
            if (!missing.empty()) return false;
            for (auto& node : postgres_) {
                if (!node->accepts_queries()) {
                    missing = "PostgreSQL " + node->name() + " does not answer";
                    return false;
                }
                if (node->standby() && !postgres_.empty() &&
                    postgres_.front()->psql("SELECT count(*) FROM pg_stat_replication WHERE application_name = '" +
                                            node->name() + "' AND state = 'streaming'") != "1") {
                    missing = "PostgreSQL " + node->name() + " does not stream from the primary";
                    return false;
                }
            }
            if (postgres_ha_) {
                missing = postgres_ha_->unhealthy();
                if (!missing.empty()) {
                    missing = "PostgreSQL (pg_auto_failover): " + missing;
                    return false;
                }
            }
            for (auto& node : nats_) {
                if (nats_.size() > 1 && node->routes() < static_cast<int>(nats_.size()) - 1) {
                    missing = node->name() + " has " + std::to_string(node->routes()) + " route(s)";
                    return false;
                }
            }
            for (std::size_t i = 0; i < count(service_kind::broker); ++i) {
                if (!broker_healthy(i)) {
                    missing = "broker " + broker_id(i) + " /healthz";
                    return false;
                }
            }
            if (nginx_ && !nginx_->healthy()) {
                missing = "nginx /healthz";
                return false;
            }
            if (services_.empty()) return true;
            missing = subscriptions_missing();
            if (!missing.empty()) {
                missing = "NATS subscriptions: " + missing;
                return false;
            }
            for (std::size_t i = 0; i < count(service_kind::broker); ++i) {
                std::string last;
                if (!probe(i, last)) {
                    missing = "probe through broker " + broker_id(i) + ": " + last;
                    return false;
                }
            }
            missing.clear();
            return true;
        },
        timeout, 100ms);
    return missing;
}

std::string system::dead_processes() {
    std::string dead;
    for (auto& name : names()) {
        auto* process = process_named(name);
        if (!process->running()) dead += "NOT RUNNING: " + name + " " + process->describe(20) + "\n";
    }
    return dead;
}

std::string system::logs(std::size_t lines) {
    std::string text;
    for (auto& svc : services_) text += svc.process->describe(lines) + "\n";
    for (auto& node : nats_) text += node->process().describe(lines / 2) + "\n";
    for (auto& node : postgres_) text += node->postmaster().describe(lines / 2) + "\n";
    if (postgres_ha_) text += postgres_ha_->logs(lines / 2);
    return text;
}

nlohmann::json system::state() {
    nlohmann::json j;
    j["dir"] = dir_.string();
    j["bin_dir"] = options_.bin_dir.string();
    j["config_dir"] = options_.config_dir.string();
    j["cwd"] = source_dir().string();
    j["database_url"] = database_url_;
    j["admin_url"] = admin_url_;
    j["passfile"] = passfile_.string();
    j["moderation_token_file"] = moderation_token_file_.string();
    j["database_urls"] = role_urls_;
    j["nats_url"] = nats_urls();
    // Where the NATS credentials and the CA are; never the passwords themselves.
    auto users = nlohmann::json::object();
    for (const auto& user : nats_users_) users[user.name] = user.password_file.string();
    j["nats_security"] = {{"locked_bus", !nats_users_.empty()},
                          {"password_files", users},
                          {"secrets_dir", nats_users_.empty() ? "" : (dir_ / "secrets").string()},
                          {"tls", !nats_tls_.empty()},
                          {"ca_file", nats_tls_.ca_file.string()},
                          {"cert_file", nats_tls_.cert_file.string()},
                          {"key_file", nats_tls_.key_file.string()}};
    j["postgres"] = nlohmann::json::array();
    for (auto& node : postgres_) {
        auto n = node->to_json();
        n["running"] = node->running();
        j["postgres"].push_back(n);
    }
    if (postgres_ha_) {
        j["postgres_ha"] = postgres_ha_->to_json();
        j["postgres_ha_status"] = postgres_ha_->state();
    }
    j["nats"] = nlohmann::json::array();
    for (auto& node : nats_) {
        auto n = node->to_json();
        n["running"] = node->process().running();
        j["nats"].push_back(n);
    }
    j["services"] = nlohmann::json::array();
    j["brokers"] = nlohmann::json::array();
    for (auto& svc : services_) {
        nlohmann::json s{{"name", svc.name},
                         {"kind", kind_name(svc.kind)},
                         {"pid", svc.process->pid()},
                         {"start_time", svc.process->id().start_time},
                         {"running", svc.process->running()},
                         {"log", svc.process->log_file().string()},
                         {"argv", svc.process->argv()}};
        if (svc.kind != service_kind::broker) {
            s["port"] = svc.port;
            s["url"] = "http://127.0.0.1:" + std::to_string(svc.port);  // the status listener
        }
        if (svc.kind == service_kind::logic) {
            s["moderation_port"] = svc.moderation_port;
            s["moderation_url"] = "http://127.0.0.1:" + std::to_string(svc.moderation_port);
        }
        if (svc.kind == service_kind::broker) {
            s["id"] = svc.id;
            s["port"] = svc.port;
            s["url"] = "http://127.0.0.1:" + std::to_string(svc.port);
            s["ws_url"] = "ws://127.0.0.1:" + std::to_string(svc.port) + "/ws";
            j["brokers"].push_back("127.0.0.1:" + std::to_string(svc.port));
        }
        j["services"].push_back(s);
    }
    if (nginx_) {
        auto n = nginx_->to_json();
        n["running"] = nginx_->process().running();
        j["nginx"] = n;
    }
    // Where a person opens the web client: the load balancer, else the first broker.
    if (monitoring_) j["monitoring"] = monitoring_->to_json();
    if (nginx_)
        j["url"] = nginx_->url();
    else if (count(service_kind::broker) > 0)
        j["url"] = "http://127.0.0.1:" + std::to_string(get(service_kind::broker, 0).port) + "/";
    return j;
}

void system::write_state() {
    auto j = state();
    write_file(dir_ / "state.json.tmp", j.dump(2) + "\n");
    std::filesystem::rename(dir_ / "state.json.tmp", dir_ / "state.json");
    for (auto& name : names()) write_file(dir_ / (name + ".pid"), std::to_string(process_named(name)->pid()) + "\n");
}

}  // namespace chat::stack
