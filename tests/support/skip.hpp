#pragma once

#include <string>

namespace chat::test {

/// The exit code CTest is told (SKIP_RETURN_CODE) means "skipped".
inline constexpr int k_skip_exit_code = 77;

/// Ends the test process as skipped, printing why. Catch2 v2 has no SKIP, so this is
/// the one honest way to say "this machine cannot run the test" without a pass.
[[noreturn]] void skip_test(const std::string& reason);

}  // namespace chat::test
