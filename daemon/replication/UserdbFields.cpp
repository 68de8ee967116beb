#include "replication/UserdbFields.hpp"

#include <nlohmann/json.hpp>

namespace dovewarden::replication {

namespace {

DoveadmFailure shape_failure(const std::string &what) {
  return doveadm_failure(DoveadmFailure::Kind::protocol,
                         "doveadm user: unexpected answer: " + what);
}

} // namespace

bool has_noreplicate(const UserdbFields &fields) {
  const auto field = fields.find("noreplicate");
  if (field == fields.end())
    return false;
  const std::string &value = field->second;
  return value.empty() ||
         std::string("nN0fF").find(value.front()) == std::string::npos;
}

tl::expected<UserdbFields, DoveadmFailure>
userdb_fields_of(const nlohmann::json &payload, const std::string &user) {
  if (!payload.is_object())
    return tl::unexpected(shape_failure("not an object"));
  // the member is named as asked; a "user" field in it gives the userdb's
  // name if that differs (auth_username_format)
  const auto found = payload.find(user);
  if (found == payload.end() || !found->is_object())
    return tl::unexpected(shape_failure("no userdb fields of " + user));
  UserdbFields fields;
  for (const auto &[name, value] : found->items())
    fields[name] = value.is_string() ? value.get<std::string>() : value.dump();
  return fields;
}

} // namespace dovewarden::replication
