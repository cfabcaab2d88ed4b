#include "shared/config/common_settings.hpp"

#include <fmt/format.h>

namespace chat::config {

nats_settings read_nats(section& root) {
    auto s = root.child("nats");
    nats_settings out;
    out.url = s.get_string("url", out.url);
    s.finish();
    return out;
}

postgres_settings read_postgres(section& root) {
    auto s = root.child("postgres");
    postgres_settings out;
    out.url = s.require_string("url");
    s.finish();
    return out;
}

log_settings read_log(section& root) {
    auto s = root.child("log");
    log_settings out;
    out.level = s.get_string("level", out.level);
    static const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    bool known = false;
    for (auto* l : levels) known |= out.level == l;
    if (!known) throw config_error(fmt::format("log.level '{}' is not one of trace..off", out.level));
    s.finish();
    return out;
}

}  // namespace chat::config
