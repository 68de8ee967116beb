#include "config/EnvFile.hpp"

#include "util/ConfigError.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <cerrno>
#include <fstream>
#include <sstream>

namespace dovewarden::config {

namespace {

bool is_key(std::string_view key) {
  if (key.empty() || (key[0] >= '0' && key[0] <= '9'))
    return false;
  for (const char c : key) {
    const bool ok = c == '_' || (c >= 'A' && c <= 'Z') ||
                    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok)
      return false;
  }
  return true;
}

// Returns the value, or nothing if a quote is not closed.
std::optional<std::string> unquote(std::string_view raw) {
  if (raw.empty())
    return std::string();
  const char quote = raw[0];
  if (quote != '"' && quote != '\'') {
    // as in sh: a "#" after white space starts a comment
    for (std::size_t i = 1; i < raw.size(); i++) {
      if (raw[i] == '#' && (raw[i - 1] == ' ' || raw[i - 1] == '\t'))
        return std::string(util::trim(raw.substr(0, i)));
    }
    return std::string(raw);
  }
  std::string value;
  for (std::size_t i = 1; i < raw.size(); i++) {
    const char c = raw[i];
    if (c == quote) {
      const auto rest = util::trim(raw.substr(i + 1));
      if (!rest.empty() && rest[0] != '#')
        return std::nullopt;
      return value;
    }
    if (quote == '"' && c == '\\' && i + 1 < raw.size() &&
        (raw[i + 1] == '"' || raw[i + 1] == '\\' || raw[i + 1] == '$' ||
         raw[i + 1] == '`')) {
      value += raw[++i];
      continue;
    }
    value += c;
  }
  return std::nullopt;
}

} // namespace

EnvFile EnvFile::read(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int errnum = errno;
    throw util::ConfigError(path, "cannot read: " + util::error_text(errnum));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

EnvFile EnvFile::parse(std::string_view text, const std::string &origin) {
  EnvFile file;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos)
      end = text.size();
    auto line = text.substr(start, end - start);
    start = end + 1;
    line_number++;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    line = util::trim(line);
    if (line.empty() || line[0] == '#')
      continue;
    if (line.substr(0, 7) == "export ")
      line = util::trim(line.substr(7));
    const auto where = origin + ":" + std::to_string(line_number);
    const auto equals = line.find('=');
    if (equals == std::string_view::npos)
      throw util::ConfigError(where, "expected KEY=value");
    const auto key = line.substr(0, equals);
    if (!is_key(key))
      throw util::ConfigError(where, "invalid name " + util::quote(key));
    auto value = unquote(line.substr(equals + 1));
    if (!value)
      throw util::ConfigError(where, "unterminated quote");
    file.m_entries.emplace_back(std::string(key), std::move(*value));
  }
  return file;
}

std::optional<std::string> EnvFile::get(std::string_view key) const {
  for (auto it = m_entries.rbegin(); it != m_entries.rend(); ++it) {
    if (it->first == key)
      return it->second;
  }
  return std::nullopt;
}

} // namespace dovewarden::config
