#include "Format.hpp"

#include "util/Strings.hpp"
#include "util/Time.hpp"

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

// Returns text printable on one line, cut to at most max characters.
std::string excerpt(std::string_view text, std::size_t max) {
  std::string out;
  for (const char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      out += ' ';
      continue;
    }
    util::append_printable(out, c);
  }
  if (width(out) <= max)
    return out;
  std::size_t kept = 0, bytes = 0;
  while (bytes < out.size() && kept < max - 1) {
    bytes++;
    while (bytes < out.size() &&
           (static_cast<unsigned char>(out[bytes]) & 0xc0) == 0x80)
      bytes++;
    kept++;
  }
  return out.substr(0, bytes) + "…";
}

std::string join(const json &strings) {
  std::string text;
  for (const auto &item : strings) {
    if (!text.empty())
      text += ",";
    text += printable(item.get<std::string>());
  }
  return text;
}

std::string endpoint_state(const json &endpoint) {
  if (endpoint.at("enabled").get<bool>())
    return "enabled";
  const auto reason = endpoint.at("disabled_reason").get<std::string>();
  return reason.empty() ? "disabled" : "disabled: " + printable(reason);
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
  std::vector<Row> rows{
      {"Queued 'sync' requests", count(queued.at("sync"))},
      {"Queued 'high' requests", count(queued.at("high"))},
      {"Queued 'low' requests", count(queued.at("low"))},
      {"Queued 'none' requests", count(queued.at("none"))},
      {"Waiting 'failed' requests", count(status.at("waiting"))},
      {"Running syncs", count(status.at("running"))},
      {"Users whose last sync failed", count(status.at("failed"))},
      {"Total number of known users", count(status.at("users"))},
  };
  // a daemon without replication's workers, or older, has none
  if (const auto skipped = status.find("noreplicate");
      skipped != status.end()) {
    rows.push_back(
        {"Skipped syncs (noreplicate)", count(skipped->at("skipped"))});
    if (!skipped->at("recent").empty())
      rows.push_back({"Last noreplicate users", join(skipped->at("recent"))});
  }
  return format_table(rows);
}

namespace {

constexpr std::size_t k_error_width = 60;

// Returns why the user's last sync failed, "-" if it did not.
std::string last_error(const json &user) {
  const auto error = user.at("last_error").get<std::string>();
  if (!user.at("failed").get<bool>() || error.empty())
    return "-";
  return excerpt(error, k_error_width);
}

} // namespace

std::string format_users(const json &users, std::int64_t now) {
  std::vector<Row> rows{{"username", "priority", "fast sync", "full sync",
                         "success sync", "failed", "next sync", "last error"}};
  for (const auto &user : users) {
    rows.push_back({
        printable(user.at("user").get<std::string>()),
        user.at("priority").get<std::string>(),
        time_ago(time_member(user, "last_fast_sync"), now),
        time_ago(time_member(user, "last_full_sync"), now),
        time_ago(time_member(user, "last_success"), now),
        user.at("failed").get<bool>() ? "y" : "-",
        next_sync(user, now),
        last_error(user),
    });
  }
  return format_table(rows);
}

std::string format_time(std::optional<std::int64_t> time) {
  return time ? util::utc_text(*time) : "-";
}

std::string format_endpoints(const json &endpoints) {
  std::vector<Row> rows{{"id", "url", "events", "state", "failing since"}};
  for (const auto &endpoint : endpoints) {
    rows.push_back({
        endpoint.at("id").get<std::string>(),
        printable(endpoint.at("url").get<std::string>()),
        join(endpoint.at("events")),
        endpoint_state(endpoint),
        format_time(time_member(endpoint, "failing_since")),
    });
  }
  return format_table(rows);
}

std::string format_endpoint(const json &endpoint) {
  const auto text = [&endpoint](const char *key) {
    return printable(endpoint.at(key).get<std::string>());
  };
  const auto number = [&endpoint](const char *key) {
    return endpoint.at(key).dump();
  };
  const auto filter = text("filter");
  std::vector<Row> rows{
      {"id", text("id")},
      {"url", text("url")},
      {"events", join(endpoint.at("events"))},
      {"filter", filter.empty() ? "-" : filter},
      {"description", text("description")},
      {"state", endpoint_state(endpoint)},
      {"timeout", text("timeout")},
      {"rate limit", endpoint.at("rate_limit").get<double>() == 0
                         ? "-"
                         : number("rate_limit") + "/s"},
      {"concurrency", number("concurrency")},
      {"batch", number("batch_max") + " events or " + text("batch_wait")},
      {"created", format_time(time_member(endpoint, "created"))},
      {"updated", format_time(time_member(endpoint, "updated"))},
      {"failing since", format_time(time_member(endpoint, "failing_since"))},
  };
  if (endpoint.contains("secrets")) {
    for (const auto &secret : endpoint.at("secrets")) {
      const auto expires = time_member(secret, "expires");
      rows.push_back(
          {"secret",
           secret.at("secret").get<std::string>() +
               (expires ? "  (until " + format_time(expires) + ")" : "")});
    }
  }
  return format_table(rows);
}

std::string format_deliveries(const json &deliveries) {
  constexpr std::size_t k_response_width = 60;
  std::vector<Row> rows{
      {"delivery", "type", "state", "time", "status", "latency", "response"}};
  for (const auto &delivery : deliveries) {
    Row head{delivery.at("id").get<std::string>(),
             printable(delivery.at("type").get<std::string>()),
             delivery.at("state").get<std::string>()};
    bool first = true;
    const auto add = [&](Row cells) {
      Row row = first ? head : Row{"", "", ""};
      first = false;
      row.insert(row.end(), cells.begin(), cells.end());
      rows.push_back(std::move(row));
    };
    for (const auto &attempt : delivery.at("attempts")) {
      const auto status = attempt.at("status").get<int>();
      const auto error = attempt.at("error").get<std::string>();
      add({format_time(time_member(attempt, "at")),
           status == 0 ? "-" : std::to_string(status),
           std::to_string(attempt.at("latency_ms").get<std::int64_t>()) + "ms",
           excerpt(error.empty() ? attempt.at("response").get<std::string>()
                                 : error,
                   k_response_width)});
    }
    if (const auto next = time_member(delivery, "next_attempt"))
      add({format_time(next), "next"});
    if (first)
      add({"-"});
  }
  return format_table(rows);
}

std::string format_audit_records(const json &page) {
  // long Message-IDs and mailbox names would push the outcome off screen
  constexpr std::size_t k_cell_width = 40;
  std::vector<Row> rows{{"seq", "time", "operation", "user", "actor", "from",
                         "session", "mailbox", "uid", "msgid", "outcome"}};
  for (const auto &record : page.at("records")) {
    const auto text = [&record](const char *key) {
      const auto value = record.at(key).get<std::string>();
      return value.empty() ? std::string("-") : excerpt(value, k_cell_width);
    };
    const auto ip = record.at("ip").get<std::string>();
    const auto port = record.at("port").get<std::uint32_t>();
    const auto uid = record.at("uid").get<std::uint32_t>();
    std::string from = ip.empty() ? "-" : printable(ip);
    if (!ip.empty() && port != 0) {
      if (ip.find(':') != std::string::npos) {
        from.insert(0, "[");
        from += ']';
      }
      from += ":" + std::to_string(port);
    }
    rows.push_back(
        {std::to_string(record.at("seq").get<std::uint64_t>()),
         util::utc_text(record.at("time").get<std::int64_t>() / 1000000),
         text("operation"), text("user"), text("actor"), from, text("session"),
         text("mailbox"), uid == 0 ? "-" : std::to_string(uid), text("msgid"),
         text("outcome")});
  }
  auto out = format_table(rows);
  if (!page.at("next").is_null())
    out += "more: --after " +
           std::to_string(page.at("next").get<std::uint64_t>()) + "\n";
  return out;
}

std::string format_verify_report(const json &report) {
  const auto records = report.at("records").get<std::uint64_t>();
  const auto checkpoints = report.at("checkpoints").get<std::uint64_t>();
  if (report.at("ok").get<bool>())
    return "OK: " + std::to_string(records) + " records, " +
           std::to_string(checkpoints) + " checkpoints\n";
  return "DAMAGED: " + report.at("damage").get<std::string>() + " at seq " +
         std::to_string(report.at("seq").get<std::uint64_t>()) + ": " +
         printable(report.at("message").get<std::string>()) + "\n";
}

} // namespace dovewarden::cli
