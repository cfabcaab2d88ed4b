#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace chat::stack {

/// One NATS user of a locked bus and what it may do. nats-server permissions are allow
/// lists: whatever a list does not name is denied.
struct nats_user {
    std::string name;
    std::string password;
    std::filesystem::path password_file;  // its first line is `password`
    std::vector<std::string> publish;     // subjects it may publish to (wildcards allowed)
    std::vector<std::string> subscribe;   // "subject", or "subject queue" for one queue group only
    bool allow_responses = false;         // may answer each request it received, once
};

/// The NATS user of a broker ("broker-b1"), of logic and of the dispatchers.
std::string broker_user_name(const std::string& broker_id);
inline constexpr const char* k_logic_user = "logic";
inline constexpr const char* k_dispatcher_user = "dispatcher";
/// The user cluster members log in to each other's routes as.
inline constexpr const char* k_route_user = "route";

/// Every client user of a locked bus with brokers `broker_ids`, each with the narrowest
/// permissions that work (docs/operations.md explains each list), without passwords.
std::vector<nats_user> bus_users(const std::vector<std::string>& broker_ids);

/// Gives each user its password from `secrets_dir`/nats-<user>.password, made (random,
/// 0600, in a 0700 directory) when the file is not there yet, so a system started again
/// in the same directory keeps its credentials.
void load_or_make_passwords(std::vector<nats_user>& users,
                            const std::filesystem::path& secrets_dir);

}  // namespace chat::stack
