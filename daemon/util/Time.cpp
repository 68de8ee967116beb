#include "util/Time.hpp"

#include <ctime>

namespace dovewarden::util {

namespace {

constexpr std::int64_t k_micros = 1000000;
constexpr std::size_t k_max_fraction_digits = 9;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads count digits at text[at...]. Returns their value, or -1.
int digits(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size())
    return -1;
  int value = 0;
  for (std::size_t i = at; i < at + count; i++) {
    if (!is_digit(text[i]))
      return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool is_leap_year(int year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int days_in_month(int year, int month) {
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30,
                                   31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : k_days[month - 1];
}

// Days from 1970-01-01 to a valid proleptic Gregorian date (Howard
// Hinnant's days_from_civil); no time_t, so no platform limits.
std::int64_t days_from_civil(int year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int era = year / 400; // years from 0 on: never negative
  const int year_of_era = year - era * 400;
  const int day_of_year =
      (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return std::int64_t{era} * 146097 + day_of_era - 719468;
}

// Reads ".digits" at text[at...] as µs into micros, moving at past it.
// Returns false for a dot without digits or more than nine of them.
bool fraction(std::string_view text, std::size_t &at, std::int64_t &micros) {
  micros = 0;
  if (at >= text.size() || text[at] != '.')
    return true;
  const std::size_t first = ++at;
  std::int64_t scale = k_micros;
  for (; at < text.size() && is_digit(text[at]); at++) {
    scale /= 10; // digits past µs count but are dropped
    micros += (text[at] - '0') * scale;
  }
  const std::size_t count = at - first;
  return count > 0 && count <= k_max_fraction_digits;
}

// Returns the offset of the zone ("Z", "+HH:MM", "-HH:MM") in seconds.
std::optional<std::int64_t> zone_offset(std::string_view zone) {
  if (zone == "Z" || zone == "z")
    return 0;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':')
    return std::nullopt;
  const int hours = digits(zone, 1, 2);
  const int minutes = digits(zone, 4, 2);
  if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59)
    return std::nullopt;
  const std::int64_t offset = hours * 3600 + minutes * 60;
  return zone[0] == '-' ? -offset : offset;
}

std::optional<std::int64_t> in_range(std::int64_t seconds,
                                     std::int64_t micros) {
  if (seconds < 0 || seconds >= k_max_unix_seconds)
    return std::nullopt;
  return seconds * k_micros + micros;
}

} // namespace

std::int64_t unix_seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::seconds>(
             time.time_since_epoch())
      .count();
}

std::int64_t unix_micros(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             time.time_since_epoch())
      .count();
}

std::string utc_text(std::chrono::system_clock::time_point time) {
  return utc_text(unix_seconds(time));
}

std::string utc_text(std::int64_t unix_seconds) {
  const auto seconds = static_cast<std::time_t>(unix_seconds);
  std::tm fields{};
  char text[32];
  if (::gmtime_r(&seconds, &fields) == nullptr ||
      std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &fields) == 0)
    return std::to_string(unix_seconds);
  return text;
}

std::optional<std::int64_t> parse_rfc3339_micros(std::string_view text) {
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      text[13] != ':' || text[16] != ':')
    return std::nullopt;
  const int year = digits(text, 0, 4);
  const int month = digits(text, 5, 2);
  const int day = digits(text, 8, 2);
  const int hour = digits(text, 11, 2);
  const int minute = digits(text, 14, 2);
  const int second = digits(text, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 ||
      day > days_in_month(year, month) || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 60)
    return std::nullopt;
  std::size_t at = 19;
  std::int64_t micros = 0;
  if (!fraction(text, at, micros))
    return std::nullopt;
  const auto offset = zone_offset(text.substr(at));
  if (!offset)
    return std::nullopt;
  const std::int64_t seconds = days_from_civil(year, month, day) * 86400 +
                               std::int64_t{hour} * 3600 +
                               std::int64_t{minute} * 60 + second - *offset;
  return in_range(seconds, micros);
}

std::optional<std::int64_t> parse_unix_micros(std::string_view text) {
  std::size_t at = 0;
  std::int64_t seconds = 0;
  // one digit more than the largest valid time has stops the overflow
  for (; at < text.size() && is_digit(text[at]) && at < 13; at++)
    seconds = seconds * 10 + (text[at] - '0');
  if (at == 0)
    return std::nullopt;
  std::int64_t micros = 0;
  if (!fraction(text, at, micros) || at != text.size())
    return std::nullopt;
  return in_range(seconds, micros);
}

} // namespace dovewarden::util
