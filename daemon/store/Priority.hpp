#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace dovewarden::store {

// Dovecot's replicator priorities, in rising order of urgency: new mail is
// high, other changes low, the background sweep none, `replicate` sync.
enum class Priority : int { none = 0, low = 1, high = 2, sync = 3 };

constexpr int k_priority_count = 4;

// Returns "none", "low", "high" or "sync".
const char *priority_name(Priority priority);
// Returns the priority named text, or nothing if it names none.
std::optional<Priority> parse_priority(std::string_view text);
// Returns the priority a store keeps as value; none for a value out of
// range.
Priority priority_of(std::int64_t value);

} // namespace dovewarden::store
