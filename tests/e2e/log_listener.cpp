// Prints the services' log tails at the first failed check of a test case: a test's
// own message says what went wrong, the logs say why.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>
#include <iostream>

#include "tests/support/diagnostics.hpp"

namespace chat::test::e2e {
namespace {

class log_listener : public Catch::TestEventListenerBase {
  public:
    using TestEventListenerBase::TestEventListenerBase;

    void testCaseStarting(const Catch::TestCaseInfo&) override { printed_ = false; }

    bool assertionEnded(const Catch::AssertionStats& stats) override {
        if (stats.assertionResult.isOk() || printed_) return true;
        auto context = failure_context();
        if (!context.empty()) {
            printed_ = true;
            std::cerr << "==== service logs at the first failure ====\n"
                      << context << "==== end of logs ====\n";
        }
        return true;
    }

  private:
    bool printed_ = false;
};

}  // namespace
}  // namespace chat::test::e2e

using chat::test::e2e::log_listener;
CATCH_REGISTER_LISTENER(log_listener)
