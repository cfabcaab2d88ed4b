#include <cstdio>
#include <exception>
#include <string>

#include "dispatcher_service.hpp"

int main(int argc, char** argv) {
    if (argc != 3 || std::string(argv[1]) != "--config") {
        std::fprintf(stderr, "usage: %s --config FILE\n", argv[0]);
        return 2;
    }
    try {
        return chat::dispatcher::run_dispatcher(argv[2]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chat-dispatcher: %s\n", e.what());
        return 1;
    }
}
