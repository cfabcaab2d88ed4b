#include "services/logic/src/admin_api.hpp"

#include <charconv>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "shared/http/static_files.hpp"
#include "shared/util/token.hpp"

namespace chat::logic {

namespace {

using nlohmann::json;

constexpr const char* k_json = "application/json";
constexpr int k_reports_per_page = 100;
constexpr std::int64_t k_min_ban = 60;               // a minute
constexpr std::int64_t k_max_ban = 365 * 24 * 3600;  // a year
constexpr std::size_t k_max_reason = 200;
constexpr std::size_t k_max_note = 500;
constexpr std::size_t k_max_address = 100;

// Bad input, answered with its status and message.
struct refusal {
    int status;
    std::string message;
};

http::response json_response(int status, const json& body) { return {status, k_json, body.dump() + "\n"}; }

http::response error(int status, const std::string& message) {
    return json_response(status, json{{"error", message}});
}

// "/api/bans/42/lift" split at '/': {"api", "bans", "42", "lift"}.
std::vector<std::string> segments_of(const std::string& path) {
    std::vector<std::string> out;
    std::istringstream in(path);
    for (std::string part; std::getline(in, part, '/');)
        if (!part.empty()) out.push_back(part);
    return out;
}

// A positive id of up to 18 digits, or nothing.
std::optional<std::int64_t> id_of(const std::string& text) {
    std::int64_t value = 0;
    if (text.empty() || text.size() > 18) return std::nullopt;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
    return value;
}

json parse_object(const std::string& body) {
    json parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) throw refusal{400, "the body must be a JSON object"};
    return parsed;
}

void only_fields(const json& object, std::initializer_list<const char*> allowed) {
    for (const auto& item : object.items()) {
        bool known = false;
        for (const char* name : allowed) known = known || item.key() == name;
        if (!known) throw refusal{400, "unknown field '" + item.key() + "'"};
    }
}

// A text field: a string of 1..max characters (or 0.. when it may be empty) without
// control characters, trimmed.
std::optional<std::string> text_field(const json& object, const char* name, std::size_t max, bool may_be_empty) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) throw refusal{400, std::string(name) + " must be a string"};
    auto value = it->get<std::string>();
    const auto first = value.find_first_not_of(" \t");
    value = first == std::string::npos ? std::string() : value.substr(first, value.find_last_not_of(" \t") - first + 1);
    for (unsigned char c : value)
        if (c < 0x20 && c != '\n') throw refusal{400, std::string(name) + " must not contain control characters"};
    if (value.empty() && !may_be_empty) throw refusal{400, std::string(name) + " must not be empty"};
    if (value.size() > max)
        throw refusal{400, std::string(name) + " is longer than " + std::to_string(max) + " bytes"};
    return value;
}

std::optional<std::int64_t> integer_field(const json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer()) throw refusal{400, std::string(name) + " must be an integer"};
    return it->get<std::int64_t>();
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace

admin_api::admin_api(moderation_store& store, std::string token, std::filesystem::path web_root,
                     std::shared_ptr<spdlog::logger> log)
    : store_(store), token_(std::move(token)), web_root_(std::move(web_root)), log_(std::move(log)) {}

http::response admin_api::handle(const http::request& request) {
    const std::string path(http::path_of(request.target));
    if (path == "/api" || path.rfind("/api/", 0) == 0) {
        constexpr std::string_view scheme = "Bearer ";
        const auto& auth = request.authorization;
        if (auth.rfind(scheme, 0) != 0 || !util::same_secret(std::string_view(auth).substr(scheme.size()), token_)) {
            auto answer = error(401, "this needs the admin token: Authorization: Bearer <token>");
            answer.headers.emplace_back("WWW-Authenticate", "Bearer");
            return answer;
        }
        try {
            return api(request, path);
        } catch (const refusal& r) {
            return error(r.status, r.message);
        } catch (const pqxx::broken_connection& e) {
            log_->warn("admin: PostgreSQL is unreachable: {}", e.what());
            return error(503, "PostgreSQL is unreachable; try again");
        } catch (const std::exception& e) {
            log_->error("admin: {} {} failed: {}", request.method, path, e.what());
            return error(500, "the request failed; the log of logic says why");
        }
    }
    return page(request, path);
}

http::response admin_api::api(const http::request& request, const std::string& path) {
    const auto parts = segments_of(path);  // parts[0] == "api"
    const auto& method = request.method;
    auto only = [&](const char* allowed) {
        if (method != allowed) throw refusal{405, path + " takes " + allowed};
    };

    if (parts.size() == 2 && parts[1] == "stats") {
        only("GET");
        return json_response(200, store_.stats());
    }
    if (parts.size() == 2 && parts[1] == "reports") {
        only("GET");
        auto state = http::query_value(request.target, "state");
        if (state.empty()) state = "open";
        if (state != "open" && state != "resolved" && state != "all")
            throw refusal{400, "state must be open, resolved or all"};
        return json_response(200, store_.reports(state, k_reports_per_page));
    }
    if (parts.size() == 4 && parts[1] == "reports" && parts[3] == "resolve") {
        only("POST");
        const auto id = id_of(parts[2]);
        if (!id) throw refusal{404, "no report " + parts[2]};
        return resolve_report(*id, request.body);
    }
    if (parts.size() == 2 && parts[1] == "bans") {
        if (method == "GET") return json_response(200, store_.bans());
        if (method != "POST") throw refusal{405, path + " takes GET or POST"};
        return create_ban(request.body);
    }
    if (parts.size() == 4 && parts[1] == "bans" && parts[3] == "lift") {
        only("POST");
        const auto id = id_of(parts[2]);
        if (!id) throw refusal{404, "no ban " + parts[2] + " in force"};
        return lift_ban(*id);
    }
    throw refusal{404, "no such API: " + path + " (docs/operations.md, \"Moderation\")"};
}

http::response admin_api::resolve_report(std::int64_t id, const std::string& body) {
    const auto in = parse_object(body);
    only_fields(in, {"resolution", "note"});
    const auto resolution = text_field(in, "resolution", 20, false);
    if (!resolution || (*resolution != "dismissed" && *resolution != "banned"))
        throw refusal{400, "resolution must be dismissed or banned"};
    const auto note = text_field(in, "note", k_max_note, true).value_or("");
    auto [outcome, report] = store_.resolve(id, *resolution, note);
    if (outcome == resolve_outcome::unknown) throw refusal{404, "no report " + std::to_string(id)};
    if (outcome == resolve_outcome::settled_before)
        return json_response(409, json{{"error", "report " + std::to_string(id) + " was resolved before"},
                                       {"report", report}});
    log_->info("admin: report {} resolved: {}", id, *resolution);
    return json_response(200, json{{"report", report}});
}

http::response admin_api::create_ban(const std::string& body) {
    const auto in = parse_object(body);
    only_fields(in, {"accountId", "address", "duration", "reason"});
    ban_request ban;
    ban.account_id = integer_field(in, "accountId");
    ban.address = text_field(in, "address", k_max_address, false);
    if (ban.account_id && *ban.account_id <= 0) throw refusal{400, "accountId must be above 0"};
    if (!ban.account_id && !ban.address) throw refusal{400, "a ban needs accountId, address or both"};
    if (ban.address && ban.address->find_first_of(" \n") != std::string::npos)
        throw refusal{400, "address must be one address, as the reports show it"};
    const auto duration = integer_field(in, "duration");
    if (!duration || *duration < k_min_ban || *duration > k_max_ban)
        throw refusal{400, "duration must be seconds from 60 (a minute) to 31536000 (a year)"};
    ban.duration_seconds = *duration;
    const auto reason = text_field(in, "reason", k_max_reason, false);
    if (!reason) throw refusal{400, "reason must not be empty"};
    ban.reason = *reason;
    auto made = store_.ban(ban);
    if (!made) throw refusal{404, "no account " + std::to_string(*ban.account_id)};
    log_->info("admin: ban {} made (account {}, address {}, {} s)", made->value("id", 0),
               ban.account_id ? std::to_string(*ban.account_id) : "-", ban.address ? "given" : "-",
               ban.duration_seconds);
    return json_response(201, json{{"ban", *made}});
}

http::response admin_api::lift_ban(std::int64_t id) {
    auto lifted = store_.lift(id);
    if (!lifted) throw refusal{404, "no ban " + std::to_string(id) + " in force"};
    log_->info("admin: ban {} lifted", id);
    return json_response(200, json{{"ban", *lifted}});
}

http::response admin_api::page(const http::request& request, const std::string& path) const {
    if (request.method != "GET") return {405, "text/plain; charset=utf-8", "only GET, or the API under /api/\n"};
    // The chat page is the broker's: this listener serves the moderator's only.
    const auto file = path == "/index.html" ? std::nullopt : http::resolve_static(web_root_, path, "moderation.html");
    if (!file) {
        const bool built = std::filesystem::exists(web_root_ / "moderation.html");
        return {404, "text/plain; charset=utf-8",
                built ? "not found\n" : "the web client is not built (./deploy/dev.sh up builds it)\n"};
    }
    return {200, file->content_type, read_file(file->path), file->cache_control};
}

}  // namespace chat::logic
