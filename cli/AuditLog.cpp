#include "AuditLog.hpp"

#include "audit/RecordJson.hpp"
#include "util/Strings.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <ostream>
#include <vector>

namespace dovewarden::cli {

namespace {

using nlohmann::json;
using Records = std::vector<audit::Record>;

tl::unexpected<Failure> protocol(const std::string &what) {
  return tl::unexpected(
      Failure{k_exit_protocol, "unexpected answer from dovewardend: " + what});
}

// Returns the page's next member: where the next page starts, or nothing
// after the last page.
std::optional<std::uint64_t> next_of(const json &page) {
  const auto &next = page.at("next");
  if (next.is_null())
    return std::nullopt;
  return next.get<std::uint64_t>();
}

std::string records_path(const std::string &query, std::uint64_t after,
                         std::size_t limit) {
  return "/v1/audit/records?" + (query.empty() ? "" : query + "&") +
         "after=" + std::to_string(after) + "&limit=" + std::to_string(limit) +
         "&details=text";
}

std::string checkpoints_path(std::uint64_t after) {
  return "/v1/audit/checkpoints?after=" + std::to_string(after) +
         "&limit=" + std::to_string(k_audit_page);
}

// Reads an export's records in the file's order, a page at a time: the
// page after record N is the lines after the line of record N. Reading on
// from the last page costs nothing; asking for another place (as verify
// does to look ahead at damage) reads the file again from its start.
class RecordLines {
public:
  explicit RecordLines(std::string path) : m_path(std::move(path)) {
    m_file.open(m_path);
  }
  bool opened() const { return m_file.is_open(); }

  tl::expected<Records, std::string> page(std::uint64_t after,
                                          std::size_t limit) {
    if (m_last && *m_last != after)
      if (auto found = seek(after); !found)
        return tl::unexpected(found.error());
    Records records;
    while (records.size() < limit) {
      auto record = next();
      if (!record)
        return tl::unexpected(record.error());
      if (!*record)
        break;
      records.push_back(std::move(**record));
    }
    if (!records.empty())
      m_last = records.back().seq;
    return records;
  }

private:
  // Returns the next record, nothing at the end of the file.
  tl::expected<std::optional<audit::Record>, std::string> next() {
    std::string text;
    while (std::getline(m_file, text)) {
      m_line++;
      if (text.empty())
        continue;
      const auto parsed = json::parse(text, nullptr, false);
      auto record = parsed.is_discarded()
                        ? tl::expected<audit::Record, std::string>(tl::unexpect,
                                                                   "not JSON")
                        : audit::record_from_json(parsed);
      if (!record)
        return tl::unexpected(m_path + " line " + std::to_string(m_line) +
                              ": " + record.error());
      return std::move(*record);
    }
    if (m_file.bad())
      return tl::unexpected("cannot read " + m_path);
    return std::nullopt;
  }

  // Moves to the line after the first record numbered after, or to the
  // start if there is none.
  tl::expected<void, std::string> seek(std::uint64_t after) {
    rewind();
    for (;;) {
      auto record = next();
      if (!record)
        return tl::unexpected(record.error());
      if (!*record)
        break;
      if ((*record)->seq == after)
        return {};
    }
    rewind();
    return {};
  }

  void rewind() {
    m_file.clear();
    m_file.seekg(0);
    m_line = 0;
  }

  std::ifstream m_file;
  std::string m_path;
  std::uint64_t m_line = 0;
  std::optional<std::uint64_t> m_last; // the last record of the last page
};

} // namespace

tl::expected<std::uint64_t, Failure> export_records(AdminClient &client,
                                                    const std::string &query,
                                                    std::ostream &out) {
  std::uint64_t written = 0;
  std::optional<std::uint64_t> after = 0;
  while (after) {
    const auto page = client.get(records_path(query, *after, k_audit_page));
    if (!page)
      return tl::unexpected(page.error());
    for (const auto &record : page->at("records")) {
      out << record.dump() << '\n';
      written++;
    }
    out.flush();
    after = next_of(*page);
  }
  return written;
}

tl::expected<std::uint64_t, Failure> export_checkpoints(AdminClient &client,
                                                        std::ostream &out) {
  std::uint64_t written = 0;
  std::optional<std::uint64_t> after = 0;
  while (after) {
    const auto page = client.get(checkpoints_path(*after));
    if (!page)
      return tl::unexpected(page.error());
    if (*after == 0 && !page->at("base").is_null()) {
      auto base = page->at("base");
      base["base"] = true;
      out << base.dump() << '\n';
      written++;
    }
    for (const auto &checkpoint : page->at("checkpoints")) {
      out << checkpoint.dump() << '\n';
      written++;
    }
    out.flush();
    after = next_of(*page);
  }
  return written;
}

namespace {

// Reads the origin, the base and every checkpoint of the API into input.
tl::expected<void, Failure> read_checkpoints(AdminClient &client,
                                             audit::VerifyInput &input) {
  std::optional<std::uint64_t> after = 0;
  while (after) {
    const auto page = client.get(checkpoints_path(*after));
    if (!page)
      return tl::unexpected(page.error());
    if (*after == 0) {
      input.origin = page->at("origin").get<std::string>();
      if (!page->at("base").is_null()) {
        auto base = audit::checkpoint_from_json(page->at("base"));
        if (!base)
          return protocol("base: " + base.error());
        input.base = std::move(*base);
      }
    }
    for (const auto &value : page->at("checkpoints")) {
      auto checkpoint = audit::checkpoint_from_json(value);
      if (!checkpoint)
        return protocol("checkpoint: " + checkpoint.error());
      input.checkpoints.push_back(std::move(*checkpoint));
    }
    after = next_of(*page);
  }
  return {};
}

// Returns up to limit records after after_seq from the API: fewer records
// than asked for means the end, so it fills the page from several answers.
tl::expected<Records, std::string>
read_records(AdminClient &client, std::uint64_t after_seq, std::size_t limit) {
  Records records;
  std::optional<std::uint64_t> after = after_seq;
  while (after && records.size() < limit) {
    const auto page = client.get(records_path(
        "", *after, std::min(limit - records.size(), k_audit_page)));
    if (!page)
      return tl::unexpected(page.error().message);
    for (const auto &value : page->at("records")) {
      auto record = audit::record_from_json(value);
      if (!record)
        return tl::unexpected("the record after " + std::to_string(*after) +
                              ": " + record.error());
      records.push_back(std::move(*record));
    }
    after = next_of(*page);
  }
  return records;
}

} // namespace

tl::expected<audit::VerifyInput, Failure> api_source(AdminClient &client) {
  audit::VerifyInput input;
  if (auto read = read_checkpoints(client, input); !read)
    return tl::unexpected(read.error());
  input.pages = [&client](std::uint64_t after, std::size_t limit) {
    return read_records(client, after, limit);
  };
  return input;
}

tl::expected<audit::VerifyInput, Failure>
file_source(const std::string &records_path,
            const std::string &checkpoints_path) {
  const auto cannot_read = [](const std::string &path) {
    return tl::unexpected(Failure{k_exit_usage, "cannot read " + path});
  };
  std::ifstream checkpoints(checkpoints_path);
  if (!checkpoints)
    return cannot_read(checkpoints_path);
  audit::VerifyInput input;
  std::vector<audit::Checkpoint> read;
  std::string text;
  for (std::uint64_t line = 1; std::getline(checkpoints, text); line++) {
    if (text.empty())
      continue;
    const auto bad = [&](const std::string &why) {
      auto message = checkpoints_path;
      message += " line " + std::to_string(line) + ": " + why;
      return tl::unexpected(Failure{k_exit_usage, std::move(message)});
    };
    const auto parsed = json::parse(text, nullptr, false);
    if (parsed.is_discarded())
      return bad("not JSON");
    auto checkpoint = audit::checkpoint_from_json(parsed);
    if (!checkpoint)
      return bad(checkpoint.error());
    if (parsed.value("base", false)) {
      if (input.base)
        return bad("a second base");
      input.base = std::move(*checkpoint);
    } else {
      read.push_back(std::move(*checkpoint));
    }
  }
  if (checkpoints.bad())
    return cannot_read(checkpoints_path);
  input.checkpoints = std::move(read);
  if (input.base)
    input.origin = input.base->origin;
  else if (!input.checkpoints.empty())
    input.origin = input.checkpoints.front().origin;

  auto lines = std::make_shared<RecordLines>(records_path);
  if (!lines->opened())
    return cannot_read(records_path);
  input.pages = [lines](std::uint64_t after, std::size_t limit) {
    return lines->page(after, limit);
  };
  return input;
}

tl::expected<audit::CheckpointVerifier, Failure>
load_verifier_key(const std::string &key_or_file) {
  std::string key = key_or_file;
  if (std::ifstream file(key_or_file); file) {
    std::getline(file, key);
    key = std::string(util::trim(key));
  }
  auto verifier = audit::CheckpointVerifier::parse(key);
  if (!verifier)
    return tl::unexpected(
        Failure{k_exit_usage, "--key: " + util::quote(key_or_file) +
                                  " is neither a readable file nor a verifier "
                                  "key: " +
                                  verifier.error()});
  return std::move(*verifier);
}

} // namespace dovewarden::cli
