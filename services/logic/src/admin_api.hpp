#pragma once

#include <spdlog/logger.h>

#include <filesystem>
#include <memory>
#include <string>

#include "services/logic/src/moderation_store.hpp"
#include "shared/http/http_server.hpp"

namespace chat::logic {

/// The admin listener's answers (docs/operations.md, "Moderation"): the JSON API under
/// /api/ for a bearer of the token, and the built moderator page (moderation.html and
/// its assets from `web_root`) for everything else a GET asks for. Bad input is a 400
/// naming what is wrong, and changes nothing.
class admin_api {
public:
    admin_api(moderation_store& store, std::string token, std::filesystem::path web_root,
              std::shared_ptr<spdlog::logger> log);

    http::response handle(const http::request& request);

private:
    http::response api(const http::request& request, const std::string& path);
    http::response page(const http::request& request, const std::string& path) const;
    http::response resolve_report(std::int64_t id, const std::string& body);
    http::response create_ban(const std::string& body);
    http::response lift_ban(std::int64_t id);

    moderation_store& store_;
    std::string token_;
    std::filesystem::path web_root_;
    std::shared_ptr<spdlog::logger> log_;
};

}  // namespace chat::logic
