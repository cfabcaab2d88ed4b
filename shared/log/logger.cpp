#include "shared/log/logger.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "shared/wire/validate.hpp"

namespace chat::log {
namespace {

// %j: the message, escaped for a JSON string.
class json_message_flag : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        const auto escaped = json_escape(std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(escaped.data(), escaped.data() + escaped.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_message_flag>(); }
};

}  // namespace

std::string json_escape(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size() + 8);
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            // A whole UTF-8 sequence, or U+FFFD for a broken one.
            const auto length = wire::valid_utf8_length(text, i);
            if (length == 0) {
                out += "\\ufffd";
                ++i;
            } else {
                out.append(text.substr(i, length));
                i += length;
            }
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xf];
                } else {
                    out += static_cast<char>(c);
                }
        }
        ++i;
    }
    return out;
}

std::unique_ptr<spdlog::formatter> make_formatter(const std::string& format) {
    if (format == "json") {
        auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
        formatter->add_flag<json_message_flag>('j').set_pattern(
            R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","service":"%n","pid":%P,"msg":"%j"})");
        return formatter;
    }
    return std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
}

std::shared_ptr<spdlog::logger> make_service_logger(const std::string& name, const std::string& level,
                                                    const std::string& format) {
    auto logger = spdlog::get(name);
    if (!logger) logger = spdlog::stderr_color_mt(name);
    logger->set_level(spdlog::level::from_str(level));
    logger->set_formatter(make_formatter(format));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
    return logger;
}

}  // namespace chat::log
