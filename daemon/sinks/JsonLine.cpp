#include "sinks/JsonLine.hpp"

#include "core/EventJson.hpp"

namespace dovewarden::sinks {

std::string to_json_line(const core::Event &event) {
  core::Json line = core::Json::object();
  line["type"] = event.type();
  for (const auto &field : event.message.fields)
    line[field.key] = core::to_json(field.value);
  return core::dump(line);
}

} // namespace dovewarden::sinks
