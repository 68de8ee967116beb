#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dovewarden::filter {

// Returns why a webhook's type glob can never match ("unknown event type
// 'mesage.new'; did you mean 'message.new'?"), or nothing if it can. Types
// with a dot are dovewarden's (core/Catalogue) and a glob with one must match
// one of them; a name without a dot is Dovecot's own (event_exporter sends
// any) and is refused only when it is a near miss of a catalogue type.
std::optional<std::string> unknown_type_glob(std::string_view glob);

// Returns why a filter's field name is a mistake ("unknown filter field
// 'User'; did you mean 'user'?"), or nothing if it is a field of the
// catalogue. With dovecot_events (the filter may see Dovecot's own events,
// from event_exporter, which carry fields no list holds), a name far from
// every catalogue field is taken for one of those.
std::optional<std::string> unknown_field(std::string_view name,
                                         bool dovecot_events);

// Whether a type glob may select Dovecot's own events: those have no dot.
bool selects_dovecot_events(std::string_view glob);

} // namespace dovewarden::filter
