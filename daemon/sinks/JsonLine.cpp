#include "sinks/JsonLine.hpp"

#include "core/EventJson.hpp"

namespace dovewarden::sinks {

std::string to_json_line(const core::Event &event) {
  core::Json line = core::Json::object();
  line["type"] = event.type();
  for (const auto &field : event.message.fields)
    line[field.key] = core::to_json(field.value);
  // the kernel's word, not the sender's: no field may pose as it
  line.erase("sender");
  if (auto sender = core::sender_json(event); !sender.is_null())
    line["sender"] = std::move(sender);
  return core::dump(line);
}

} // namespace dovewarden::sinks
