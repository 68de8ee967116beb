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
// catalogue or far from all of them (event_exporter events carry Dovecot's
// own fields, which no list holds).
std::optional<std::string> unknown_field(std::string_view name);

} // namespace dovewarden::filter
