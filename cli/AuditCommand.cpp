#include "AuditCommand.hpp"

#include "AuditLog.hpp"
#include "Format.hpp"
#include "audit/RecordJson.hpp"
#include "audit/Verifier.hpp"

#include <CLI/CLI.hpp>

#include <ostream>
#include <utility>
#include <vector>

namespace dovewarden::cli {

namespace {

using nlohmann::json;

struct Filters {
  std::string *user, *type, *since, *until, *mailbox, *ip, *msgid;
};

void add_filters(CLI::App &command, const Filters &filters) {
  command.add_option("--user", *filters.user, "whose mail (exact)")
      ->type_name("USER");
  command
      .add_option("--type", *filters.type,
                  "the operation: exact, or a prefix ending in * (message.*)")
      ->type_name("TYPE");
  command
      .add_option("--since", *filters.since,
                  "from: RFC 3339 (2026-05-01T12:00:00Z), Unix seconds or "
                  "ago (2h)")
      ->type_name("TIME");
  command.add_option("--until", *filters.until, "before, as --since")
      ->type_name("TIME");
  command.add_option("--mailbox", *filters.mailbox, "mailbox name (exact)")
      ->type_name("MAILBOX");
  command.add_option("--ip", *filters.ip, "the client's address (exact)")
      ->type_name("IP");
  command
      .add_option("--msgid", *filters.msgid,
                  "the Message-ID header, as stored (<id@host>)")
      ->type_name("ID");
}

tl::unexpected<Failure> usage(std::string message) {
  return tl::unexpected(Failure{k_exit_usage, std::move(message)});
}

} // namespace

AuditCommand::AuditCommand(CLI::App &app) {
  m_audit =
      app.add_subcommand("audit", "query, export and verify the audit log");
  m_audit->require_subcommand(1);
  const Filters filters{&m_user,    &m_type, &m_since, &m_until,
                        &m_mailbox, &m_ip,   &m_msgid};

  m_query = m_audit->add_subcommand(
      "query", "the records the filters select, a page in seq order");
  add_filters(*m_query, filters);
  m_query->add_option("--after", m_after, "the page after this seq")
      ->type_name("SEQ");
  m_query->add_option("--limit", m_limit, "records at most (default 100)")
      ->type_name("N")
      ->check(CLI::Range(1u, 1000u));

  m_export = m_audit->add_subcommand(
      "export", "the records as NDJSON on stdout, streamed, for a SIEM or "
                "an offline verify");
  add_filters(*m_export, filters);
  m_export->add_flag("--checkpoints", m_checkpoints,
                     "the signed checkpoints instead of the records");

  m_verify = m_audit->add_subcommand(
      "verify", "check the chain and its checkpoints; exit 1 on damage");
  m_verify
      ->add_option("--records", m_records_file,
                   "an export of every record (offline, with --checkpoints)")
      ->type_name("FILE");
  m_verify
      ->add_option("--checkpoints", m_checkpoints_file,
                   "an export of the checkpoints (offline, with --records)")
      ->type_name("FILE");
  m_verify
      ->add_option("--key", m_key,
                   "the verifier key, or the .pub file holding it: checked "
                   "here, not by the daemon")
      ->type_name("PUBKEY|FILE");
}

bool AuditCommand::chosen() const { return m_audit->parsed(); }

bool AuditCommand::needs_daemon() const {
  return !(m_verify->parsed() && !m_records_file.empty());
}

std::string AuditCommand::filters() const {
  std::string query;
  for (const auto &[name, value] :
       std::vector<std::pair<const char *, const std::string *>>{
           {"user", &m_user},
           {"type", &m_type},
           {"since", &m_since},
           {"until", &m_until},
           {"mailbox", &m_mailbox},
           {"ip", &m_ip},
           {"msgid", &m_msgid}}) {
    const auto *command = m_query->parsed() ? m_query : m_export;
    if (command->count(std::string("--") + name) == 0)
      continue;
    query += (query.empty() ? "" : "&") + std::string(name) + "=" +
             AdminClient::escape(*value);
  }
  return query;
}

tl::expected<int, Failure> AuditCommand::run(AdminClient *client,
                                             bool json_output,
                                             std::ostream &out) const {
  if (m_verify->parsed())
    return run_verify(client, json_output, out);
  if (m_query->parsed())
    return run_query(*client, json_output, out);
  return run_export(*client, out);
}

tl::expected<int, Failure> AuditCommand::run_query(AdminClient &client,
                                                   bool json_output,
                                                   std::ostream &out) const {
  auto path = "/v1/audit/records?after=" + std::to_string(m_after) +
              "&limit=" + std::to_string(m_limit);
  if (const auto query = filters(); !query.empty())
    path += "&" + query;
  const auto page = client.get(path);
  if (!page)
    return tl::unexpected(page.error());
  out << (json_output ? page->dump(2) + "\n" : format_audit_records(*page));
  return k_exit_ok;
}

tl::expected<int, Failure> AuditCommand::run_export(AdminClient &client,
                                                    std::ostream &out) const {
  if (m_checkpoints && !filters().empty())
    return usage("export --checkpoints: the filters select records only");
  const auto written = m_checkpoints ? export_checkpoints(client, out)
                                     : export_records(client, filters(), out);
  if (!written)
    return tl::unexpected(written.error());
  return k_exit_ok;
}

tl::expected<int, Failure> AuditCommand::run_verify(AdminClient *client,
                                                    bool json_output,
                                                    std::ostream &out) const {
  if (m_records_file.empty() != m_checkpoints_file.empty())
    return usage("verify: --records and --checkpoints go together");
  json report;
  if (m_records_file.empty() && m_key.empty()) {
    // the daemon walks its own store with its own key
    client->wait_long();
    auto answer = client->get("/v1/audit/verify");
    if (!answer)
      return tl::unexpected(answer.error());
    report = std::move(*answer);
  } else {
    std::optional<audit::CheckpointVerifier> key;
    if (!m_key.empty()) {
      auto loaded = load_verifier_key(m_key);
      if (!loaded)
        return tl::unexpected(loaded.error());
      key = std::move(*loaded);
    }
    auto source = m_records_file.empty()
                      ? api_source(*client)
                      : file_source(m_records_file, m_checkpoints_file);
    if (!source)
      return tl::unexpected(source.error());
    report = audit::report_json(audit::verify(*source, key), source->origin);
    if (!key)
      report["warning"] = "no --key: the checkpoints' signatures were not "
                          "checked";
  }
  if (json_output) {
    out << report.dump(2) << "\n";
  } else {
    out << format_verify_report(report);
    if (report.contains("warning"))
      out << "warning: " << report.at("warning").get<std::string>() << "\n";
  }
  return report.at("ok").get<bool>() ? k_exit_ok : k_exit_damaged;
}

} // namespace dovewarden::cli
