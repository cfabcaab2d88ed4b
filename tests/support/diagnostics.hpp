#pragma once

#include <functional>
#include <string>

namespace chat::test {

/// Something that can describe the system under test when a check fails (the running
/// service_stack registers its log tails). A timeout deep inside a helper then says
/// what the services were doing, not only that nothing arrived.
void set_failure_context(std::function<std::string()> provider);
void clear_failure_context();

/// The registered description, or "" when nothing is registered.
std::string failure_context();

}  // namespace chat::test
