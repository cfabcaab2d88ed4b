#include "tests/support/skip.hpp"

#include <cstdio>
#include <cstdlib>

namespace chat::test {

void skip_test(const std::string& reason) {
    std::fprintf(stderr, "SKIPPED: %s\n", reason.c_str());
    std::fflush(stderr);
    std::exit(k_skip_exit_code);
}

}  // namespace chat::test
