#include "bench/ceiling/pg_url.hpp"

namespace chat::bench::ceiling {

std::string with_database(const std::string& url, const std::string& name) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) return url + (url.empty() ? "" : " ") + "dbname=" + name;
    const auto query = url.find('?', scheme + 3);
    const auto authority_end = url.find('/', scheme + 3);
    const auto path =
        authority_end == std::string::npos || (query != std::string::npos && authority_end > query)
            ? (query == std::string::npos ? url.size() : query)
            : authority_end;
    return url.substr(0, path) + "/" + name + (query == std::string::npos ? "" : url.substr(query));
}

}  // namespace chat::bench::ceiling
