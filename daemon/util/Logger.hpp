#pragma once

#include <tl/expected.hpp>

#include <sstream>
#include <string>
#include <string_view>

namespace dovewarden::util {

enum class LogLevel { debug, info, warn, error };

// One line per message on stderr: "<UTC time> <level> <message>". stdout is
// left to the event stream. Never pass secrets (passwords, webhook secrets,
// API keys) into a log line.
class Logger {
public:
  Logger() = delete;

  // Parses "debug", "info", "warn" or "error". Returns the level, or an error
  // text.
  static tl::expected<LogLevel, std::string> parse_level(std::string_view text);
  static const char *level_name(LogLevel level);

  static void set_level(LogLevel level);
  // Returns true if messages of level are written.
  static bool enabled(LogLevel level);
  // Writes message as one line (embedded newlines are escaped).
  static void write(LogLevel level, std::string_view message);
};

namespace detail {

template <typename... Args> std::string concat(const Args &...args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

} // namespace detail

} // namespace dovewarden::util

// LOG_INFO("zmq: bound ", endpoint): the arguments are only formatted when
// the level is enabled
#define DW_LOG(level, ...)                                                     \
  do {                                                                         \
    if (::dovewarden::util::Logger::enabled(level))                            \
      ::dovewarden::util::Logger::write(                                       \
          level, ::dovewarden::util::detail::concat(__VA_ARGS__));             \
  } while (false)
#define LOG_DEBUG(...) DW_LOG(::dovewarden::util::LogLevel::debug, __VA_ARGS__)
#define LOG_INFO(...) DW_LOG(::dovewarden::util::LogLevel::info, __VA_ARGS__)
#define LOG_WARN(...) DW_LOG(::dovewarden::util::LogLevel::warn, __VA_ARGS__)
#define LOG_ERROR(...) DW_LOG(::dovewarden::util::LogLevel::error, __VA_ARGS__)
