#include "Format.hpp"

#include "util/Strings.hpp"

#include <algorithm>
#include <cstdio>

namespace dovewarden::cli {

namespace {

using nlohmann::json;

std::optional<std::int64_t> time_member(const json &object, const char *key) {
  const auto &value = object.at(key);
  if (value.is_null())
    return std::nullopt;
  return value.get<std::int64_t>();
}

std::string clock(std::int64_t seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%02lld:%02lld:%02lld",
                static_cast<long long>(seconds / 3600),
                static_cast<long long>(seconds / 60 % 60),
                static_cast<long long>(seconds % 60));
  return text;
}

// Returns when the user is synced next: "-" if not queued, else "running",
// "now" or "in HH:MM:SS" while it backs off after a failure.
std::string next_sync(const json &user, std::int64_t now) {
  if (user.at("running").get<bool>())
    return "running";
  if (!user.at("queued").get<bool>())
    return "-";
  const auto next = time_member(user, "next_attempt");
  if (!next || *next <= now)
    return "now";
  return "in " + clock(*next - now);
}

// Returns how many characters text shows: UTF-8 continuation bytes take no
// column of their own.
std::size_t width(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
      }));
}

std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text)
    util::append_printable(out, c);
  return out;
}

} // namespace

std::string format_table(const std::vector<Row> &rows) {
  std::vector<std::size_t> widths;
  for (const auto &row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); i++)
      widths[i] = std::max(widths[i], width(row[i]));
  }
  std::string text;
  for (const auto &row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); i++) {
      if (i > 0)
        line.append(2, ' ');
      line += row[i];
      line.append(widths[i] - width(row[i]), ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    text += line + "\n";
  }
  return text;
}

std::string time_ago(std::optional<std::int64_t> then, std::int64_t now) {
  if (!then)
    return "-";
  // a clock that stepped back shows as just now, not as a negative age
  return clock(std::max<std::int64_t>(now - *then, 0));
}

std::string format_status(const json &status) {
  const auto &queued = status.at("queued");
  const auto count = [](const json &value) {
    return std::to_string(value.get<std::uint64_t>());
  };
  return format_table({
      {"Queued 'sync' requests", count(queued.at("sync"))},
      {"Queued 'high' requests", count(queued.at("high"))},
      {"Queued 'low' requests", count(queued.at("low"))},
      {"Queued 'none' requests", count(queued.at("none"))},
      {"Waiting 'failed' requests", count(status.at("waiting"))},
      {"Running syncs", count(status.at("running"))},
      {"Users whose last sync failed", count(status.at("failed"))},
      {"Total number of known users", count(status.at("users"))},
  });
}

std::string format_users(const json &users, std::int64_t now) {
  std::vector<Row> rows{{"username", "priority", "fast sync", "full sync",
                         "success sync", "failed", "next sync"}};
  for (const auto &user : users) {
    rows.push_back({
        printable(user.at("user").get<std::string>()),
        user.at("priority").get<std::string>(),
        time_ago(time_member(user, "last_fast_sync"), now),
        time_ago(time_member(user, "last_full_sync"), now),
        time_ago(time_member(user, "last_success"), now),
        user.at("failed").get<bool>() ? "y" : "-",
        next_sync(user, now),
    });
  }
  return format_table(rows);
}

} // namespace dovewarden::cli
