#pragma once

#include "AdminClient.hpp"
#include "Settings.hpp"
#include "audit/Verifier.hpp"

#include <tl/expected.hpp>

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>

namespace dovewarden::cli {

// The audit log as `dovewarden audit` reads and writes it outside the
// daemon: the NDJSON of an export, and what verify walks (docs/audit.md).

// records per request while exporting or verifying: the API's largest page
constexpr std::size_t k_audit_page = 1000;

// Writes the records query (a query string of GET /v1/audit/records
// without after, limit and details, "" for all) selects to out, one JSON
// object a line, page by page: each record with the details text its hash
// covers, so that the lines can be verified again. Returns how many, or
// the failure that stopped it (the lines before it are written).
tl::expected<std::uint64_t, Failure> export_records(AdminClient &client,
                                                    const std::string &query,
                                                    std::ostream &out);

// Writes the chain's checkpoints to out, one a line: the retention base
// first (with "base":true) if records were removed, then every checkpoint
// in size order. Returns how many, or the failure that stopped it.
tl::expected<std::uint64_t, Failure> export_checkpoints(AdminClient &client,
                                                        std::ostream &out);

// Returns what verify walks: the chain as the daemon's API gives it, read page
// by page while verify walks it, or the failure that stopped reading the
// checkpoints.
tl::expected<audit::VerifyInput, Failure> api_source(AdminClient &client);

// Returns the chain of two exports (export_records with no query, and
// export_checkpoints): the records are read line by line while verify walks
// them, in the order of the file. A failure if a file cannot be opened or a
// checkpoint line is not one.
tl::expected<audit::VerifyInput, Failure>
file_source(const std::string &records_path,
            const std::string &checkpoints_path);

// Reads a verifier key given as its text or as the file holding it (a .pub
// written beside the daemon's key). A usage failure if it is neither.
tl::expected<audit::CheckpointVerifier, Failure>
load_verifier_key(const std::string &key_or_file);

} // namespace dovewarden::cli
