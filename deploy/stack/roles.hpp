#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <string>

namespace chat::stack {

/// The database roles (docs/operations.md, "Database roles"): the owner of the database
/// and its schema, who runs the migrations, and one role per service with the grants of
/// migrations/0005. Nothing of ours connects as superuser but the stack's own set-up.
inline constexpr const char* k_owner_role = "chat_owner";
inline constexpr const char* k_logic_role = "chat_logic";
inline constexpr const char* k_dispatcher_role = "chat_dispatcher";
inline constexpr std::array<const char*, 3> k_roles = {k_owner_role, k_logic_role, k_dispatcher_role};

/// Each role's password, random, in a libpq password file (`DIR/pgpass`, mode 0600,
/// DIR 0700): made the first time, read again when a system starts on the same DIR, so
/// a detached system keeps its passwords. Services find it through `passfile=` in their
/// URL; no password is ever in argv, a config file or state.json.
class role_secrets {
  public:
    explicit role_secrets(std::filesystem::path dir);

    const std::filesystem::path& passfile() const { return passfile_; }
    const std::string& password(const std::string& role) const;

  private:
    std::filesystem::path passfile_;
    std::map<std::string, std::string> passwords_;
};

/// As the superuser of `admin_url`: every role of k_roles exists with LOGIN and its
/// password from `secrets` (created, or altered to match). psql's output passes through
/// `work_dir`.
void create_login_roles(const std::string& admin_url, const role_secrets& secrets,
                        const std::filesystem::path& work_dir);

/// As the superuser of `admin_url` (any database of the server): database `name` exists
/// and belongs to chat_owner, and so does everything in its schema public (a database
/// made before the roles existed, by the superuser, is handed over).
void give_database_to_owner(const std::string& admin_url, const std::string& name,
                            const std::filesystem::path& work_dir);

/// `url` (postgresql://[user@]hosts/db[?params]) connecting as `role`, with
/// `passfile=` added when `passfile` is not empty.
std::string url_as(const std::string& url, const std::string& role, const std::filesystem::path& passfile);

/// `url` with its database replaced by `database`.
std::string url_with_database(const std::string& url, const std::string& database);

}  // namespace chat::stack
