// `chat <command> --config FILE [--set key.path=value]...`: the design's single binary. broker, logic and
// dispatcher run a service; migrate brings a database's schema up to date.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "services/broker/src/broker_service.hpp"
#include "services/dispatcher/src/dispatcher_service.hpp"
#include "services/logic/src/logic_service.hpp"
#include "shared/db/migrations.hpp"
#include "shared/db/migrations_dir.hpp"
#include "shared/config/common_settings.hpp"
#include "shared/util/service_main.hpp"

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: chat broker     --config FILE [--set key.path=value]...\n"
                 "       chat logic      --config FILE [--set key.path=value]...\n"
                 "       chat dispatcher --config FILE [--set key.path=value]...\n"
                 "       chat migrate    --config FILE [--set key.path=value]... [--migrations DIR]\n"
                 "                       (FILE: any service config with postgres.url; DIR: the\n"
                 "                       installed share/chat/migrations, else ./migrations)\n");
    return 2;
}

// Migrate reads only postgres.url, so any service config that has one will do.
int migrate(const chat::config::source& config, const std::filesystem::path& dir) {
    auto root = chat::config::load_file(config);
    const auto postgres = chat::config::read_postgres(root);
    const auto report = chat::db::migrate(postgres.url, dir);
    std::printf("migrate: applied %d migration(s) from %s; schema version %d\n", report.applied, dir.c_str(),
                report.current_version);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) return usage();
    const std::string command = args.front();
    args.erase(args.begin());
    std::filesystem::path migrations_dir;
    if (command == "migrate" && args.size() >= 2 && args[args.size() - 2] == "--migrations") {
        migrations_dir = args.back();
        args.resize(args.size() - 2);
    }
    const auto config = chat::util::parse_config_args(args);
    if (!config) return usage();
    try {
        if (command == "broker") return chat::broker::run_broker(*config);
        if (command == "logic") return chat::logic::run_logic(*config);
        if (command == "dispatcher") return chat::dispatcher::run_dispatcher(*config);
        if (command == "migrate")
            return migrate(*config, migrations_dir.empty() ? chat::db::default_migrations_dir(chat::db::own_executable())
                                                           : migrations_dir);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chat %s: %s\n", command.c_str(), e.what());
        return 1;
    }
    return usage();
}
