#pragma once

#include <string_view>
#include <vector>

namespace dovewarden::core {

// Returns true if type is in the event catalogue (docs/wire-format.md and the
// daemon's own events). Metrics label only these types by name, so a sender
// cannot grow the label set without bound.
bool is_catalogue_type(std::string_view type);

// Returns every type of the catalogue.
const std::vector<std::string_view> &catalogue_types();

// Returns every field the catalogue's events carry (docs/events.md), by wire
// name. Events from Dovecot's event_exporter carry Dovecot's own fields too.
const std::vector<std::string_view> &catalogue_fields();

// Returns true if no glob selects type, only its own name: reads
// (message.open) come one per message a client opens, too many and too
// personal to arrive because someone wrote "*". The plugin's
// dovewarden_events follows the same rule.
bool is_selected_by_name_only(std::string_view type);

} // namespace dovewarden::core
