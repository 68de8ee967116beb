#pragma once

#include "core/Event.hpp"

#include <string>
#include <vector>

namespace dovewarden::webhook {

// Returns the delivery body of one event, as Standard Webhooks has it:
// {"type":…,"timestamp":"<RFC 3339, UTC, µs>","data":{<the event's fields>}}.
std::string payload(const core::Event &event);
// Returns the body of a batch: a JSON array of payload()s.
std::string batch_payload(const std::vector<std::string> &payloads);

} // namespace dovewarden::webhook
