#include "deploy/stack/roles.hpp"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "deploy/stack/files.hpp"
#include "deploy/stack/net.hpp"
#include "deploy/stack/postgres.hpp"

namespace chat::stack {
namespace {

// Where a URL's authority (user@hosts) starts and ends.
std::pair<std::size_t, std::size_t> authority(const std::string& url) {
    auto scheme = url.find("://");
    if (scheme == std::string::npos) throw std::invalid_argument("not a postgresql:// URL: " + url);
    auto begin = scheme + 3;
    auto end = url.find_first_of("/?", begin);
    return {begin, end == std::string::npos ? url.size() : end};
}

// Runs SQL that holds passwords from a 0600 file (\i), not from psql's argv.
void psql_secret(const std::string& url, const std::string& sql, const std::filesystem::path& secrets_dir,
                 const std::filesystem::path& work_dir) {
    auto file = secrets_dir / "roles.sql";
    {
        std::ofstream out(file, std::ios::trunc);
        std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        out << sql << "\n";
        if (!out) throw std::runtime_error("cannot write " + file.string());
    }
    try {
        psql(url, "\\i " + file.string(), work_dir);
    } catch (...) {
        std::filesystem::remove(file);
        throw;
    }
    std::filesystem::remove(file);
}

}  // namespace

role_secrets::role_secrets(std::filesystem::path dir) : passfile_(dir / "pgpass") {
    using std::filesystem::perms;
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, perms::owner_all);
    std::istringstream in(read_file(passfile_));
    // host:port:database:user:password, as libpq reads it.
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> fields;
        std::istringstream parts(line);
        for (std::string field; std::getline(parts, field, ':');) fields.push_back(field);
        if (fields.size() == 5) passwords_[fields[3]] = fields[4];
    }
    bool complete = true;
    for (auto role : k_roles) complete &= passwords_.count(role) == 1;
    if (complete) return;
    std::string text = "# libpq password file of the chat roles (made by chat-stack; docs/operations.md)\n";
    for (auto role : k_roles) {
        if (!passwords_.count(role)) passwords_[role] = random_secret();
        text += std::string("*:*:*:") + role + ":" + passwords_[role] + "\n";
    }
    // Private before the passwords go in: libpq ignores a passfile others can read.
    write_file(passfile_, "");
    std::filesystem::permissions(passfile_, perms::owner_read | perms::owner_write);
    write_file(passfile_, text);
}

const std::string& role_secrets::password(const std::string& role) const {
    auto it = passwords_.find(role);
    if (it == passwords_.end()) throw std::invalid_argument("no password for role " + role);
    return it->second;
}

void create_login_roles(const std::string& admin_url, const role_secrets& secrets,
                        const std::filesystem::path& work_dir) {
    std::string sql = "DO $roles$ BEGIN\n";
    for (auto role : k_roles) {
        const std::string r = role;
        const std::string password = "'" + secrets.password(r) + "'";
        sql += "IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + r + "') THEN ALTER ROLE " + r +
               " LOGIN PASSWORD " + password + "; ELSE CREATE ROLE " + r + " LOGIN PASSWORD " + password +
               "; END IF;\n";
    }
    sql += "END $roles$;";
    psql_secret(admin_url, sql, secrets.passfile().parent_path(), work_dir);
}

void give_database_to_owner(const std::string& admin_url, const std::string& name,
                            const std::filesystem::path& work_dir) {
    const std::string owner = k_owner_role;
    auto server = url_with_database(admin_url, "postgres");
    if (psql(server, "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'", work_dir) == "0")
        psql(server, "CREATE DATABASE " + name + " OWNER " + owner, work_dir);
    else
        psql(server, "ALTER DATABASE " + name + " OWNER TO " + owner, work_dir);
    // Tables (with their indexes and serial sequences) and functions the superuser made.
    psql(url_with_database(admin_url, name), R"sql(
DO $own$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
                AND c.relowner <> 'chat_owner'::regrole LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO chat_owner', r.t);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'public' AND p.proowner <> 'chat_owner'::regrole LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO chat_owner', r.f);
    END LOOP;
END
$own$)sql",
         work_dir);
}

std::string url_as(const std::string& url, const std::string& role, const std::filesystem::path& passfile) {
    auto [begin, end] = authority(url);
    auto at = url.rfind('@', end);
    auto hosts_begin = at != std::string::npos && at >= begin ? at + 1 : begin;
    std::string out = url.substr(0, begin) + role + "@" + url.substr(hosts_begin);
    if (passfile.empty()) return out;
    if (out.find('/', out.find("://") + 3) == std::string::npos && out.find('?') == std::string::npos)
        out += "/";
    return out + (out.find('?') == std::string::npos ? "?" : "&") + "passfile=" + percent_encoded(passfile.string());  // libpq decodes it
}

std::string url_with_database(const std::string& url, const std::string& database) {
    auto [begin, end] = authority(url);
    auto query = url.find('?', end);
    return url.substr(0, end) + "/" + database + (query == std::string::npos ? "" : url.substr(query));
}

}  // namespace chat::stack
