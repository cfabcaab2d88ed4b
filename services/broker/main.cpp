#include "services/broker/src/broker_service.hpp"
#include "shared/util/service_main.hpp"

int main(int argc, char** argv) {
    return chat::util::service_main(argc, argv, "chat-broker", chat::broker::run_broker);
}
