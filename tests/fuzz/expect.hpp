#pragma once

#include <cstdio>
#include <cstdlib>

namespace chat::fuzz {

/// A broken promise is a finding: say which, and abort so libFuzzer keeps the input
/// (in build-fuzz/artifacts/) and the run fails.
inline void expect(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "fuzz check failed: %s\n", what);
    std::abort();
}

}  // namespace chat::fuzz
