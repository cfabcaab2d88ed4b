#include "bench/ceiling/recording.hpp"

#include <fstream>
#include <stdexcept>

#include "shared/proto/chat.pb.h"

namespace chat::bench::ceiling {
namespace {

// Native byte order: the file is written by chat-ceiling and read by its own children.
void put(std::ofstream& out, std::uint64_t n) {
    out.write(reinterpret_cast<const char*>(&n), sizeof n);
}
void put(std::ofstream& out, const std::string& s) {
    put(out, s.size());
    out.write(s.data(), static_cast<std::streamsize>(s.size()));
}
void put(std::ofstream& out, const std::vector<std::string>& v) {
    put(out, v.size());
    for (const auto& s : v) put(out, s);
}

std::uint64_t get_number(std::ifstream& in) {
    std::uint64_t n = 0;
    if (!in.read(reinterpret_cast<char*>(&n), sizeof n))
        throw std::runtime_error("recording file cut short");
    return n;
}
std::string get_string(std::ifstream& in) {
    std::string s(get_number(in), '\0');
    if (!in.read(s.data(), static_cast<std::streamsize>(s.size())))
        throw std::runtime_error("recording file cut short");
    return s;
}
std::vector<std::string> get_strings(std::ifstream& in) {
    std::vector<std::string> v(get_number(in));
    for (auto& s : v) s = get_string(in);
    return v;
}

}  // namespace

std::uint64_t recording::messages() const {
    std::uint64_t items = 0;
    proto::Request r;
    for (const auto& bytes : requests)
        if (r.ParseFromString(bytes))
            items += static_cast<std::uint64_t>(r.dialogue().items_size());
    return items;
}

void write_recording(const recording& r, const std::filesystem::path& file) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    put(out, r.requests);
    put(out, r.replies);
    put(out, r.wakes);
    put(out, r.wake_after.size());
    for (auto n : r.wake_after) put(out, n);
    put(out, r.drains.size());
    for (const auto& drain : r.drains) {
        put(out, drain.size());
        for (const auto& p : drain) {
            put(out, p.broker_id);
            put(out, p.payload);
        }
    }
    put(out, r.deliveries);
    if (!out.flush()) throw std::runtime_error("cannot write " + file.string());
}

recording read_recording(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    recording r;
    r.requests = get_strings(in);
    r.replies = get_strings(in);
    r.wakes = get_strings(in);
    r.wake_after.resize(get_number(in));
    for (auto& n : r.wake_after) n = get_number(in);
    r.drains.resize(get_number(in));
    for (auto& drain : r.drains) {
        drain.resize(get_number(in));
        for (auto& p : drain) {
            p.broker_id = get_string(in);
            p.payload = get_string(in);
        }
    }
    r.deliveries = get_number(in);
    return r;
}

}  // namespace chat::bench::ceiling
