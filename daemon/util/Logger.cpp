#include "util/Logger.hpp"

#include "util/Strings.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace dovewarden::util {

namespace {

std::atomic<LogLevel> g_level{LogLevel::info};

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                          now.time_since_epoch())
                          .count();
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(millis % 1000));
  return buffer;
}

void write_all(int fd, const std::string &text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const auto written = ::write(fd, text.data() + done, text.size() - done);
    if (written < 0 && errno == EINTR)
      continue;
    if (written <= 0)
      return; // nowhere left to report it
    done += static_cast<std::size_t>(written);
  }
}

} // namespace

tl::expected<LogLevel, std::string> Logger::parse_level(std::string_view text) {
  for (const auto level :
       {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
    if (text == level_name(level))
      return level;
  }
  return tl::unexpected(std::string("expected debug, info, warn or error"));
}

const char *Logger::level_name(LogLevel level) {
  switch (level) {
  case LogLevel::debug:
    return "debug";
  case LogLevel::info:
    return "info";
  case LogLevel::warn:
    return "warn";
  case LogLevel::error:
    return "error";
  }
  return "info";
}

void Logger::set_level(LogLevel level) { g_level.store(level); }

bool Logger::enabled(LogLevel level) {
  return static_cast<int>(level) >= static_cast<int>(g_level.load());
}

void Logger::write(LogLevel level, std::string_view message) {
  std::string line = timestamp();
  line += ' ';
  line += level_name(level);
  line += ' ';
  // what senders put in events may reach a message: no control characters
  // (a forged line, a terminal escape) get through
  for (const char c : message) {
    if (c == '\n')
      line += "\\n";
    else
      append_printable(line, c);
  }
  line += '\n';
  // one write(2) per line keeps lines from different threads whole
  write_all(STDERR_FILENO, line);
}

} // namespace dovewarden::util
