#include "util/SettingValues.hpp"

#include "util/ConfigError.hpp"
#include "util/Duration.hpp"
#include "util/Strings.hpp"

namespace dovewarden::util {

const std::string &SettingValues::text(const char *env) const {
  return m_texts.at(env);
}

void SettingValues::set(const std::string &env, std::string text) {
  m_texts[env] = std::move(text);
}

std::string SettingValues::invalid(const char *what, const std::string &value,
                                   const std::string &why) {
  return std::string("invalid ") + what + " " + quote(value) + ": " + why;
}

std::chrono::milliseconds SettingValues::duration(const char *env) const {
  const auto &value = text(env);
  const auto parsed = parse_duration(value);
  if (!parsed)
    throw ConfigError(env, invalid("duration", value, parsed.error()));
  return *parsed;
}

std::chrono::milliseconds
SettingValues::positive_duration(const char *env) const {
  const auto value = duration(env);
  if (value.count() <= 0)
    throw ConfigError(env,
                      invalid("duration", text(env), "must be longer than 0s"));
  return value;
}

std::uint64_t SettingValues::number(const char *env, std::uint64_t min,
                                    std::uint64_t max, int base) const {
  const auto &value = text(env);
  const auto parsed = parse_unsigned(value, max, base);
  if (!parsed)
    throw ConfigError(env, invalid("number", value, parsed.error()));
  if (*parsed < min)
    throw ConfigError(env, invalid("number", value,
                                   "expected at least " + std::to_string(min)));
  return *parsed;
}

bool SettingValues::boolean(const char *env) const {
  const auto &value = text(env);
  if (value == "true" || value == "yes" || value == "1")
    return true;
  if (value == "false" || value == "no" || value == "0")
    return false;
  throw ConfigError(env, invalid("boolean", value, "expected true or false"));
}

ListenAddress SettingValues::address(const char *env) const {
  const auto &value = text(env);
  const auto parsed = ListenAddress::parse(value);
  if (!parsed || parsed->host.empty())
    throw ConfigError(env, invalid("address", value, "expected HOST:PORT"));
  return *parsed;
}

std::optional<ListenAddress>
SettingValues::optional_address(const char *env) const {
  const auto &value = text(env);
  if (value.empty())
    return std::nullopt;
  const auto parsed = ListenAddress::parse(value);
  if (!parsed)
    throw ConfigError(env, invalid("address", value, parsed.error()));
  return *parsed;
}

} // namespace dovewarden::util
