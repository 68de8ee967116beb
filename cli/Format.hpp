#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dovewarden::cli {

using Row = std::vector<std::string>;

// Returns the rows as columns padded to their widest cell, two spaces apart,
// without trailing blanks; a header row (if any) is the first.
std::string format_table(const std::vector<Row> &rows);

// Returns seconds since then as doveadm replicator status shows them,
// "HH:MM:SS" (hours may run past 99), or "-" for never.
std::string time_ago(std::optional<std::int64_t> then, std::int64_t now);

// Returns the overview of `dovewarden status` from the API's status object,
// one "description  count" line each, and the syncs skipped for noreplicate
// with the last users skipped if the status has them. Throws
// nlohmann::json::exception if a member is missing or of the wrong type.
std::string format_status(const nlohmann::json &status);

// Returns the table of `dovewarden status MASK` from the API's user list.
// Throws nlohmann::json::exception as format_status().
std::string format_users(const nlohmann::json &users, std::int64_t now);

// Returns a Unix time as RFC 3339 in UTC ("2024-05-01T12:00:00Z"), the form
// `webhook recover` reads back, or "-" for never.
std::string format_time(std::optional<std::int64_t> time);

// Returns the table of `dovewarden webhook list` from the API's endpoint
// list. Throws nlohmann::json::exception as format_status().
std::string format_endpoints(const nlohmann::json &endpoints);

// Returns `dovewarden webhook show`: one "member  value" line each, a line
// per secret if the endpoint has them. Throws nlohmann::json::exception as
// format_status().
std::string format_endpoint(const nlohmann::json &endpoint);

// Returns the delivery log of `dovewarden webhook deliveries`: a line per
// attempt, and for a pending delivery a last line with its next attempt.
// Throws nlohmann::json::exception as format_status().
std::string format_deliveries(const nlohmann::json &deliveries);

// Returns the table of `dovewarden audit query` from the API's page of
// records: a row per record (its time in UTC to the second, where from as
// IP:PORT), and if the page is not the last a line saying how to ask for
// the next. Throws nlohmann::json::exception as format_status().
std::string format_audit_records(const nlohmann::json &page);

// Returns the line of `dovewarden audit verify` for a verification report:
// "OK: …" or "DAMAGED: …" naming the first bad record.
std::string format_verify_report(const nlohmann::json &report);

} // namespace dovewarden::cli
