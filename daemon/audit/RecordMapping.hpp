#pragma once

#include "audit/Record.hpp"
#include "core/Event.hpp"

#include <cstdint>
#include <optional>

namespace dovewarden::audit {

// Returns the record an event becomes, not yet linked (no seq or hashes):
// its type is the operation; who, where, which mailbox and message go to
// their own fields, everything else the event said to details, a compact
// JSON object in the event's order. The actor is the admin token of an
// admin event, "daemon" for the daemon's other events, "dsync",
// "delivery" or "doveadm" for those mail processes, else the user. Only a
// plugin event (inst and seq) names its inst and event_seq.
Record to_record(const core::Event &event);

// Returns the event's "seq" if it is a positive integer.
std::optional<std::uint64_t> event_seq(const core::Event &event);

} // namespace dovewarden::audit
