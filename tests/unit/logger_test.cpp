#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "shared/log/logger.hpp"

using chat::log::json_escape;
using chat::log::make_formatter;

TEST_CASE("json_escape keeps every line valid JSON") {
    CHECK(json_escape("plain") == "plain");
    CHECK(json_escape("say \"hi\"\\now") == "say \\\"hi\\\"\\\\now");
    CHECK(json_escape("a\nb\tc\r") == "a\\nb\\tc\\r");
    CHECK(json_escape(std::string("x\x01y\x7f", 4)) == "x\\u0001y\\u007f");
    CHECK(json_escape("caf\xc3\xa9 \xf0\x9f\x99\x82") == "caf\xc3\xa9 \xf0\x9f\x99\x82");  // UTF-8 kept
    CHECK(json_escape("bad \xff\xc3") == "bad \\ufffd\\ufffd");                            // not UTF-8
}

TEST_CASE("log.format json writes one JSON object per line, text the usual line") {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    spdlog::logger logger("logic", sink);
    logger.set_formatter(make_formatter("json"));
    logger.warn("connection closed conn={} note=\"{}\"", "b1/7", "two\nlines \xff");
    const auto line = out.str();
    REQUIRE(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);  // one line
    const auto entry = nlohmann::json::parse(line);
    CHECK(entry["level"] == "warning");
    CHECK(entry["service"] == "logic");
    CHECK(entry["msg"] == "connection closed conn=b1/7 note=\"two\nlines \xef\xbf\xbd\"");
    CHECK(entry["pid"].is_number_integer());
    CHECK(entry["time"].get<std::string>().back() == 'Z');

    out.str("");
    logger.set_formatter(make_formatter("text"));
    logger.info("hello");
    CHECK(out.str().find("[logic] hello") != std::string::npos);
}
