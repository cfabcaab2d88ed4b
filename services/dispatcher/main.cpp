#include "services/dispatcher/src/dispatcher_service.hpp"
#include "shared/util/service_main.hpp"

int main(int argc, char** argv) {
    return chat::util::service_main(argc, argv, "chat-dispatcher", chat::dispatcher::run_dispatcher);
}
