#pragma once

#include "core/Event.hpp"

#include <nlohmann/json.hpp>

namespace dovewarden::core {

using Json = nlohmann::ordered_json;

// Returns value as JSON: string arrays become arrays; other non-scalar values
// (nested maps, ...) are rendered from their msgpack bytes, or null if JSON
// cannot hold them.
Json to_json(const wire::Value &value);
// Returns the message's fields as one JSON object, by wire name in wire order.
Json fields_json(const wire::Message &message);
// Returns the sender the kernel saw, {"uid":…,"pid":…}, or null if unknown.
Json sender_json(const Event &event);
// Returns json as text; invalid UTF-8 is replaced by U+FFFD.
std::string dump(const Json &json);

} // namespace dovewarden::core
