#pragma once
// bench/ still includes this name; the code lives in deploy/stack (chat_stack). Goes
// when bench/ moves to chat_stack.
#include "support/stack.hpp"
