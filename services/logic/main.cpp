#include "services/logic/src/logic_service.hpp"
#include "shared/util/service_main.hpp"

int main(int argc, char** argv) {
    return chat::util::service_main(argc, argv, "chat-logic", chat::logic::run_logic);
}
