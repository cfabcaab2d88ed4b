// CTest runs each Catch2 TEST_CASE by name: a ';' in a name splits it into CTest entries
// that match nothing and pass without running, and a name starting with '-' is read as
// an option. Every test source in the repository is checked here.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;

TEST_CASE("no test name has a ';' or starts with '-' (CTest could not run it)") {
    const fs::path root(CHAT_SOURCE_DIR);
    const std::regex test_case(R"re(TEST_CASE\(\s*"((?:[^"\\]|\\.)*)")re");
    int names = 0;
    for (const auto* dir : {"tests", "bench", "deploy"}) {
        for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
            const auto path = entry.path();
            if (!entry.is_regular_file() || path.extension() != ".cpp") continue;
            std::ifstream in(path);
            std::stringstream text;
            text << in.rdbuf();
            const auto source = text.str();
            for (std::sregex_iterator it(source.begin(), source.end(), test_case), end; it != end; ++it) {
                const auto name = (*it)[1].str();
                if (path.filename() == "test_names_test.cpp") continue;
                INFO(fs::relative(path, root).string() << ": \"" << name << "\"");
                CHECK(name.find(';') == std::string::npos);
                CHECK_FALSE((!name.empty() && name.front() == '-'));
                ++names;
            }
        }
    }
    CHECK(names > 300);  // the scan found the suites
}
