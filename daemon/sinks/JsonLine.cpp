#include "sinks/JsonLine.hpp"

#include <nlohmann/json.hpp>

#include <variant>

namespace dovewarden::sinks {

namespace {

using Json = nlohmann::ordered_json;

Json to_json(const wire::Value &value) {
  return std::visit(
      [](const auto &v) -> Json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, wire::Packed>) {
          try {
            return Json::from_msgpack(v.bytes);
          } catch (const Json::exception &) {
            return nullptr; // e.g. a map with integer keys
          }
        } else {
          return Json(v);
        }
      },
      value);
}

} // namespace

std::string to_json_line(const core::Event &event) {
  Json line = Json::object();
  line["type"] = event.type();
  for (const auto &field : event.message.fields)
    line[field.key] = to_json(field.value);
  return line.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace dovewarden::sinks
