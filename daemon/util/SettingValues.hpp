#pragma once

#include "util/ListenAddress.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dovewarden::util {

// One setting of dovewardend: its environment variable, its command-line
// flag, what --help says of it, and what the configuration reference and the
// man page say (Markdown: `code` only; nothing: the help line).
struct Setting {
  const char *env;
  const char *flag;
  const char *metavar;
  const char *fallback;
  const char *help;
  const char *details = nullptr;
};

// The text each setting was given, by environment variable name, and the
// typed readers that turn it into a value. A reader throws ConfigError naming
// the setting when the text is not a valid value.
class SettingValues {
public:
  // Returns the text of the setting; it must have one.
  const std::string &text(const char *env) const;
  std::chrono::milliseconds duration(const char *env) const;
  // A duration that must not be zero: the waits of loops and timeouts.
  std::chrono::milliseconds positive_duration(const char *env) const;
  std::uint64_t number(const char *env, std::uint64_t min, std::uint64_t max,
                       int base = 10) const;
  bool boolean(const char *env) const;
  ListenAddress address(const char *env) const;
  // Nothing if the text is empty: the listener is off.
  std::optional<ListenAddress> optional_address(const char *env) const;

  void set(const std::string &env, std::string text);

  // Returns the message of a ConfigError about a bad value:
  // invalid WHAT "VALUE": WHY
  static std::string invalid(const char *what, const std::string &value,
                             const std::string &why);

private:
  std::map<std::string, std::string, std::less<>> m_texts;
};

} // namespace dovewarden::util
