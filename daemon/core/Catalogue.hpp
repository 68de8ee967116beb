#pragma once

#include <string_view>

namespace dovewarden::core {

// Returns true if type is in the event catalogue (docs/wire-format.md and the
// daemon's own events). Metrics label only these types by name, so a sender
// cannot grow the label set without bound.
bool is_catalogue_type(std::string_view type);

} // namespace dovewarden::core
