#include "tests/faults/ledger.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace chat::faults {
namespace {

constexpr std::size_t k_max_examples = 12;

// "fault <requestId> ..." -> requestId
std::optional<std::string> request_id_of(const std::string& content) {
    std::istringstream in(content);
    std::string word, id;
    if (!(in >> word >> id) || word != "fault") return std::nullopt;
    return id;
}

}  // namespace

std::string summary::line() const {
    std::ostringstream out;
    out << "sent " << sent << " acknowledged " << acknowledged << " delivered " << delivered
        << " lost " << lost << " duplicated " << duplicated << " out_of_order " << out_of_order;
    return out.str();
}

std::string summary::info_line() const {
    std::ostringstream out;
    out << "redelivered " << redelivered << " retries " << retries << " unanswered " << unanswered
        << " rejected " << rejected << " delivered_unacknowledged " << delivered_unacknowledged
        << " send_order_violations " << send_order_violations << " misrouted " << misrouted;
    return out.str();
}

void ledger::begin_phase(const std::string& name) {
    std::lock_guard lock(mutex_);
    phase_names_.push_back(name);
    phase_out_of_order_.push_back(0);
    phase_redelivered_.push_back(0);
}

std::size_t ledger::create(int client, std::int64_t account, std::int64_t session) {
    std::lock_guard lock(mutex_);
    message m;
    m.phase = phase_names_.size() - 1;
    m.client = client;
    m.account = account;
    m.session = session;
    m.seq = ++next_seq_[client];
    m.first_sent = steady::now();
    std::size_t index = messages_.size();
    messages_.push_back(m);
    by_request_id_.emplace("c" + std::to_string(client) + "-" + std::to_string(m.seq), index);
    by_sender_session_[{client, session}].push_back(index);
    return index;
}

std::string ledger::request_id(std::size_t index) const {
    std::lock_guard lock(mutex_);
    const auto& m = messages_.at(index);
    return "c" + std::to_string(m.client) + "-" + std::to_string(m.seq);
}

std::string ledger::content(std::size_t index) const {
    std::string id = request_id(index);
    std::lock_guard lock(mutex_);
    return "fault " + id + " into session " + std::to_string(messages_.at(index).session);
}

std::optional<std::size_t> ledger::find(const std::string& request_id) const {
    std::lock_guard lock(mutex_);
    auto it = by_request_id_.find(request_id);
    if (it == by_request_id_.end()) return std::nullopt;
    return it->second;
}

void ledger::resent(std::size_t index) {
    std::lock_guard lock(mutex_);
    ++messages_.at(index).attempts;
    ++retries_;
}

void ledger::anomaly(const std::string& text) {
    if (examples_.size() < k_max_examples) examples_.push_back(text);
}

std::string ledger::at(steady::time_point t) const {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3fs",
                  std::chrono::duration<double>(t - origin_).count());
    return buffer;
}

void ledger::mark_duplicate(std::size_t index) { duplicates_.insert(index); }

void ledger::acknowledged(std::size_t index, std::int64_t session, std::int64_t msg_id) {
    std::lock_guard lock(mutex_);
    auto& m = messages_.at(index);
    std::string rid = "c" + std::to_string(m.client) + "-" + std::to_string(m.seq);
    if (session != m.session) {
        ++misrouted_;
        anomaly("request " + rid + " (session " + std::to_string(m.session) +
                ") was acknowledged for session " + std::to_string(session));
    }
    m.ack_ids.insert(msg_id);
    if (m.st != state::acknowledged) {
        if (m.st == state::rejected) {
            anomaly("request " + rid + " got code 0 (msgId " + std::to_string(msg_id) +
                    ") after a final error");
        }
        m.st = state::acknowledged;
        m.acknowledged_at = steady::now();
        m.msg_id = msg_id;
        m.clean = m.attempts == 1;
        ++acknowledged_;
    }
    if (m.ack_ids.size() > 1) {
        if (!duplicates_.count(index)) {
            anomaly("request " + rid + " was acknowledged with msgIds " +
                    std::to_string(*m.ack_ids.begin()) + " and " +
                    std::to_string(*m.ack_ids.rbegin()));
        }
        mark_duplicate(index);
    }
    auto [it, inserted] = acked_keys_.emplace(key{m.session, msg_id}, index);
    if (!inserted && it->second != index) {
        anomaly("session " + std::to_string(m.session) + " msgId " + std::to_string(msg_id) +
                " was acknowledged to two requests (" + rid + " and another)");
        mark_duplicate(index);
        mark_duplicate(it->second);
    }
}

void ledger::rejected(std::size_t index, int /*code*/) {
    std::lock_guard lock(mutex_);
    auto& m = messages_.at(index);
    if (m.st == state::pending) m.st = state::rejected;
}

ledger::push_result ledger::pushed(int receiver_client, std::int64_t receiver, std::int64_t session,
                                   std::int64_t msg_id, std::int64_t sender_id,
                                   const std::string& content) {
    std::lock_guard lock(mutex_);
    push_result result;
    auto& v = views_[{receiver_client, session}];
    std::string where = "session " + std::to_string(session) + " msgId " + std::to_string(msg_id);

    if (auto shown = v.shown.find(msg_id); shown != v.shown.end()) {
        // The client drops it: a redelivery is invisible, unless the content differs.
        ++redelivered_;
        ++phase_redelivered_.back();
        if (shown->second != content) {
            anomaly(where + " was pushed again with different content: '" + shown->second +
                    "' then '" + content + "'");
            for (const auto& text : {shown->second, content}) {
                if (auto rid = request_id_of(text)) {
                    if (auto it = by_request_id_.find(*rid); it != by_request_id_.end())
                        mark_duplicate(it->second);
                }
            }
        }
        return result;
    }

    result.fresh = true;
    ++fresh_pushes_;
    auto shown_rid = request_id_of(content);
    auto shown_it = shown_rid ? by_request_id_.find(*shown_rid) : by_request_id_.end();
    if (msg_id < v.highest) {
        ++out_of_order_;
        // Counted in the phase the message was written in (or the current one).
        ++phase_out_of_order_[shown_it != by_request_id_.end() ? messages_[shown_it->second].phase
                                                               : phase_names_.size() - 1];
        anomaly(where + " was shown to client c" + std::to_string(receiver_client) +
                " after msgId " + std::to_string(v.highest));
    }
    v.highest = std::max(v.highest, msg_id);
    v.shown.emplace(msg_id, content);

    auto& rid = shown_rid;
    auto it = shown_it;
    if (it == by_request_id_.end()) {
        ++misrouted_;
        anomaly(where + " carried content no client sent: '" + content + "'");
        return result;
    }
    std::size_t index = it->second;
    auto& m = messages_[index];
    result.first_sent = m.first_sent;
    if (m.session != session || m.account == receiver || m.account != sender_id) {
        ++misrouted_;
        anomaly(where + " (request " + *rid + " of account " + std::to_string(m.account) +
                " into session " + std::to_string(m.session) + ") was pushed to account " +
                std::to_string(receiver) + " with senderId " + std::to_string(sender_id));
    }
    m.shown_ids.insert(msg_id);
    if (m.shown_ids.size() > 1) {
        if (!duplicates_.count(index)) {
            anomaly("request " + *rid + " was shown twice, as msgIds " +
                    std::to_string(*m.shown_ids.begin()) + " and " +
                    std::to_string(*m.shown_ids.rbegin()));
        }
        mark_duplicate(index);
    }
    auto [at, inserted] = shown_keys_.emplace(key{session, msg_id}, index);
    if (!inserted && at->second != index) mark_duplicate(index);
    return result;
}

totals ledger::current() const {
    std::lock_guard lock(mutex_);
    totals t;
    t.sent = messages_.size();
    t.acknowledged = acknowledged_;
    t.pushes = fresh_pushes_;
    t.retries = retries_;
    t.redelivered = redelivered_;
    return t;
}

recovery ledger::recovery_after(steady::time_point fault, steady::time_point until) const {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    std::lock_guard lock(mutex_);
    recovery r;
    std::vector<steady::time_point> acks;
    for (const auto& m : messages_) {
        if (m.st != state::acknowledged || m.acknowledged_at < fault || m.acknowledged_at > until) continue;
        acks.push_back(m.acknowledged_at);
        if (m.first_sent >= fault) {
            auto wait = duration_cast<milliseconds>(m.acknowledged_at - fault);
            if (!r.first_ack || wait < *r.first_ack) r.first_ack = wait;
        }
    }
    std::sort(acks.begin(), acks.end());
    auto previous = fault;
    for (auto t : acks) {
        r.longest_gap = std::max(r.longest_gap, duration_cast<milliseconds>(t - previous));
        previous = t;
    }
    r.longest_gap = std::max(r.longest_gap, duration_cast<milliseconds>(until - previous));
    return r;
}

summary ledger::compute() const {
    std::lock_guard lock(mutex_);
    summary s;
    s.sent = messages_.size();
    s.redelivered = redelivered_;
    s.retries = retries_;
    s.out_of_order = out_of_order_;
    s.misrouted = misrouted_;
    s.examples = examples_;
    auto dup = duplicates_;
    std::vector<std::string> lost_examples;
    s.phases.resize(phase_names_.size());
    for (std::size_t p = 0; p < phase_names_.size(); ++p) {
        s.phases[p].name = phase_names_[p];
        s.phases[p].out_of_order = phase_out_of_order_[p];
        s.phases[p].redelivered = phase_redelivered_[p];
    }

    for (std::size_t i = 0; i < messages_.size(); ++i) {
        const auto& m = messages_[i];
        std::string rid = "c" + std::to_string(m.client) + "-" + std::to_string(m.seq);
        auto& ph = s.phases[m.phase];
        ++ph.sent;
        ph.retries += static_cast<std::uint64_t>(m.attempts - 1);
        if (m.st == state::pending) ++s.unanswered;
        if (m.st == state::rejected) ++s.rejected;
        if (m.st != state::acknowledged) {
            if (!m.shown_ids.empty()) ++s.delivered_unacknowledged;
            continue;
        }
        ++s.acknowledged;
        ++ph.acknowledged;
        auto shown = shown_keys_.find(key{m.session, m.msg_id});
        if (shown != shown_keys_.end() && shown->second == i) {
            ++s.delivered;
            ++ph.delivered;
        } else if (shown != shown_keys_.end()) {
            // Its number shows someone else's words.
            dup.insert(i);
            dup.insert(shown->second);
        }
        if (m.shown_ids.empty()) {
            ++s.lost;
            ++ph.lost;
            if (ph.lost <= 3) {  // the first few of each phase
                std::string receiver = "?";
                std::int64_t receiver_highest = 0;
                for (const auto& [who, v] : views_) {
                    if (who.second == m.session && who.first != m.client) {
                        receiver = "c" + std::to_string(who.first);
                        receiver_highest = v.highest;
                    }
                }
                lost_examples.push_back(
                    "lost (" + ph.name + "): request " + rid + " (session " +
                    std::to_string(m.session) + " msgId " + std::to_string(m.msg_id) + ", " +
                    std::to_string(m.attempts) + " send(s), first sent at " + at(m.first_sent) +
                    ", acknowledged at " + at(m.acknowledged_at) + "); receiver " + receiver +
                    " was shown up to msgId " + std::to_string(receiver_highest));
            }
        } else if (!m.shown_ids.count(m.msg_id)) {
            dup.insert(i);
        }
    }
    s.duplicated = dup.size();
    for (auto i : dup) ++s.phases[messages_[i].phase].duplicated;

    // A message acknowledged on its only send was committed before its answer; a message
    // the same client sent into the same session later was committed after it was sent.
    for (const auto& [sender_session, indexes] : by_sender_session_) {
        std::int64_t highest_clean = 0;
        for (auto i : indexes) {
            const auto& m = messages_[i];
            if (m.st != state::acknowledged) continue;
            if (m.msg_id < highest_clean) {
                if (s.send_order_violations++ < 3) {
                    s.examples.push_back("send order: client c" + std::to_string(m.client) +
                                         " session " + std::to_string(m.session) + " msgId " +
                                         std::to_string(m.msg_id) + " after msgId " +
                                         std::to_string(highest_clean));
                }
            }
            if (m.clean) highest_clean = std::max(highest_clean, m.msg_id);
        }
    }
    for (auto& text : lost_examples) s.examples.push_back(std::move(text));
    return s;
}

}  // namespace chat::faults
