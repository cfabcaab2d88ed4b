#include <catch2/catch.hpp>

#include <map>
#include <stdexcept>
#include <string>

#include "services/logic/src/heartbeat_book.hpp"

using chat::logic::heartbeat_book;
using heard_map = std::map<std::string, std::string>;

namespace {

// Records everything the book hands over.
heard_map record_all(heartbeat_book& book) {
    heard_map out;
    book.record_all([&](const std::string& broker, const std::string& epoch) { out[broker] = epoch; });
    return out;
}

}  // namespace

TEST_CASE("each broker's latest heartbeat is recorded once", "[reaper]") {
    heartbeat_book book;
    book.heard("b1", "e1");
    book.heard("b2", "e7");
    book.heard("b1", "e2");
    CHECK(record_all(book) == heard_map{{"b1", "e2"}, {"b2", "e7"}});
    CHECK(record_all(book).empty());  // nothing new since
}

TEST_CASE("when recording fails, what was not recorded is kept and the failure propagates", "[reaper]") {
    heartbeat_book book;
    book.heard("b1", "e1");
    book.heard("b2", "e1");
    book.heard("b3", "e1");
    heard_map recorded;
    CHECK_THROWS_AS(book.record_all([&](const std::string& broker, const std::string& epoch) {
        if (broker == "b2") throw std::runtime_error("database down");
        recorded[broker] = epoch;
    }),
                    std::runtime_error);
    CHECK(recorded == heard_map{{"b1", "e1"}});
    // b1 made it; b2 (which failed) and b3 (never tried) wait for the next sweep.
    CHECK(record_all(book) == heard_map{{"b2", "e1"}, {"b3", "e1"}});
}

TEST_CASE("a heartbeat heard while recording failed wins over the one kept", "[reaper]") {
    heartbeat_book book;
    book.heard("b1", "old");
    book.heard("b2", "old");
    CHECK_THROWS(book.record_all([&](const std::string&, const std::string&) {
        // Heard on a NATS thread meanwhile: the book is not locked while recording.
        book.heard("b2", "restarted");
        throw std::runtime_error("database down");
    }));
    CHECK(record_all(book) == heard_map{{"b1", "old"}, {"b2", "restarted"}});
}
