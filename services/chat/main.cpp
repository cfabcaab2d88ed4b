// `chat <command> --config FILE`: the design's single binary. broker, logic and
// dispatcher run a service; migrate brings a database's schema up to date.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "broker_service.hpp"
#include "dispatcher_service.hpp"
#include "logic_service.hpp"
#include "shared/db/migrations.hpp"
#include "shared/config/common_settings.hpp"

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: chat broker     --config FILE\n"
                 "       chat logic      --config FILE\n"
                 "       chat dispatcher --config FILE\n"
                 "       chat migrate    --config FILE [--migrations DIR]   (FILE: a config with postgres.url)\n");
    return 2;
}

// Migrate reads only postgres.url, so any service config that has one will do.
int migrate(const std::string& config_file, const std::string& dir) {
    auto root = chat::config::load_file(config_file);
    const auto postgres = chat::config::read_postgres(root);
    const auto report = chat::db::migrate(postgres.url, dir);
    std::printf("migrate: applied %d migration(s); schema version %d\n", report.applied, report.current_version);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() < 3 || args[1] != "--config") return usage();
    const auto& command = args[0];
    const auto& config_file = args[2];
    try {
        if (command == "broker" && args.size() == 3) return chat::broker::run_broker(config_file);
        if (command == "logic" && args.size() == 3) return chat::logic::run_logic(config_file);
        if (command == "dispatcher" && args.size() == 3) return chat::dispatcher::run_dispatcher(config_file);
        if (command == "migrate") {
            if (args.size() == 3) return migrate(config_file, "migrations");
            if (args.size() == 5 && args[3] == "--migrations") return migrate(config_file, args[4]);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chat %s: %s\n", command.c_str(), e.what());
        return 1;
    }
    return usage();
}
