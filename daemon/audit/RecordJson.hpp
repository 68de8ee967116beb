#pragma once

#include "audit/Checkpoint.hpp"
#include "audit/Record.hpp"
#include "audit/Verifier.hpp"

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include <string>

namespace dovewarden::audit {

// How a record's details appear in its JSON: parsed, for people and
// queries, or as the exact text its hash covers, for an export that is
// verified again (docs/audit.md).
enum class DetailsForm { object, text };

// Returns every field of record under its own name: numbers as numbers
// (time in µs), hashes as hex, details in the form asked for (as text if
// they are not JSON).
nlohmann::json record_json(const Record &record, DetailsForm details);

// Reads back what record_json(record, DetailsForm::text) returned. Returns
// the member that is missing, of the wrong type or unknown.
tl::expected<Record, std::string> record_from_json(const nlohmann::json &json);

// Returns origin, size, hash, time (µs) and the signed note.
nlohmann::json checkpoint_json(const Checkpoint &checkpoint);

// Reads back what checkpoint_json() returned, ignoring members it did not
// write. Returns the member that is missing or of the wrong type.
tl::expected<Checkpoint, std::string>
checkpoint_from_json(const nlohmann::json &json);

// Returns the report as GET /v1/audit/verify and `dovewarden audit verify
// --json` give it: ok, origin, records, checkpoints, damage (null if ok),
// seq and message.
nlohmann::json report_json(const VerifyReport &report,
                           const std::string &origin);

} // namespace dovewarden::audit
