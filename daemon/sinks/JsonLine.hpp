#pragma once

#include "core/Event.hpp"

#include <string>

namespace dovewarden::sinks {

// Returns event as one line of JSON without the newline: "type" first, then
// every field by its wire name in wire order (docs/wire-format.md, "On the
// daemon's stream"). String arrays become JSON arrays; other non-scalar
// values (nested maps, ...) are rendered from their msgpack bytes, or as null
// if JSON cannot hold them. Invalid UTF-8 is replaced by U+FFFD.
std::string to_json_line(const core::Event &event);

} // namespace dovewarden::sinks
