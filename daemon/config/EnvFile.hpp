#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dovewarden::config {

// An env-style settings file in the manner of /etc/default: KEY=value lines,
// "#" comments, an optional "export " prefix, values optionally in single or
// double quotes. Nothing is expanded.
class EnvFile {
public:
  using Entry = std::pair<std::string, std::string>;

  // Reads path. Throws ConfigError naming the file (and line) if it cannot be
  // read or a line is malformed.
  static EnvFile read(const std::string &path);
  // Parses text; origin names it in errors. Throws ConfigError as read().
  static EnvFile parse(std::string_view text, const std::string &origin);

  // Returns the last value given for key, or nothing.
  std::optional<std::string> get(std::string_view key) const;
  const std::vector<Entry> &entries() const { return m_entries; }

private:
  std::vector<Entry> m_entries;
};

} // namespace dovewarden::config
