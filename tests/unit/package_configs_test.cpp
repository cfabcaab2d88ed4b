// The configs the Debian package installs in /etc/chat (deploy/package/etc/) load as the
// systemd units use them, with the installed system's paths: a key the services do not
// know would stop every packaged service at start.
#include <catch2/catch.hpp>
#include <filesystem>

#include "services/broker/src/settings.hpp"
#include "services/dispatcher/src/settings.hpp"
#include "services/logic/src/settings.hpp"
#include "shared/config/common_settings.hpp"
#include "shared/config/yaml_reader.hpp"

namespace fs = std::filesystem;
using chat::config::source;

namespace {

std::string packaged(const char* name) {
    return (fs::path(CHAT_SOURCE_DIR) / "deploy" / "package" / "etc" / name).string();
}

}  // namespace

TEST_CASE("the packaged configs load as the units run them, with installed paths") {
    // chat-broker@b7.service: --set broker.id=%i.
    const auto broker = chat::broker::load_broker_settings(source(packaged("broker.yaml"), {"broker.id=b7"}));
    CHECK(broker.id == "b7");
    CHECK(broker.web_root == "/usr/share/chat/web");
    CHECK(broker.address == "127.0.0.1");
    CHECK(broker.messages_per_second > 0);

    const auto logic = chat::logic::load_logic_settings(packaged("logic.yaml"));
    CHECK(logic.postgres.url.find("chat_logic@") != std::string::npos);
    CHECK(logic.postgres.url.find("passfile=/etc/chat/pgpass") != std::string::npos);
    CHECK(logic.http.address == "127.0.0.1");

    const auto dispatcher = chat::dispatcher::load_dispatcher_settings(packaged("dispatcher.yaml"));
    CHECK(dispatcher.postgres.url.find("chat_dispatcher@") != std::string::npos);
    CHECK(dispatcher.http.port != logic.http.port);

    // chat migrate reads postgres.url alone, and the file has nothing else.
    auto migrate = chat::config::load_file(packaged("migrate.yaml"));
    CHECK(chat::config::read_postgres(migrate).url.find("chat_owner@") != std::string::npos);
    CHECK_NOTHROW(migrate.finish());
}
