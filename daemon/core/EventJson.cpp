#include "core/EventJson.hpp"

#include <variant>

namespace dovewarden::core {

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

Json fields_json(const wire::Message &message) {
  Json fields = Json::object();
  for (const auto &field : message.fields)
    fields[field.key] = to_json(field.value);
  return fields;
}

Json sender_json(const Event &event) {
  if (!event.sender)
    return nullptr;
  return Json{{"uid", event.sender->uid}, {"pid", event.sender->pid}};
}

std::string dump(const Json &json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace dovewarden::core
