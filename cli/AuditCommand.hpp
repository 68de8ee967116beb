#pragma once

#include "AdminClient.hpp"
#include "Settings.hpp"

#include <tl/expected.hpp>

#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace dovewarden::cli {

// `dovewarden audit query|export|verify` (docs/audit.md): the audit log
// through the admin API's /v1/audit routes, or, for verify with files, an
// export checked off the host with the public key alone.
class AuditCommand {
public:
  // verify's exit code when it finds damage
  static constexpr int k_exit_damaged = 1;

  // Adds "audit" and its subcommands to app, which must outlive this.
  explicit AuditCommand(CLI::App &app);
  AuditCommand(const AuditCommand &) = delete;
  AuditCommand &operator=(const AuditCommand &) = delete;

  // Returns true if the parsed command line chose "audit".
  bool chosen() const;
  // Returns false for a verify of files, which needs no daemon.
  bool needs_daemon() const;

  // Returns the query string of the filters given ("user=a%40b&type=…"),
  // "" for none.
  std::string filters() const;

  // Runs the chosen subcommand, writing what it prints to out (export: as
  // it reads it). client may be null if !needs_daemon(). Returns the exit
  // code (0, or k_exit_damaged), or the failure. Throws
  // nlohmann::json::exception if an answer is not what the API promises.
  tl::expected<int, Failure> run(AdminClient *client, bool json_output,
                                 std::ostream &out) const;

private:
  tl::expected<int, Failure> run_query(AdminClient &client, bool json_output,
                                       std::ostream &out) const;
  tl::expected<int, Failure> run_export(AdminClient &client,
                                        std::ostream &out) const;
  tl::expected<int, Failure> run_verify(AdminClient *client, bool json_output,
                                        std::ostream &out) const;

  CLI::App *m_audit;
  CLI::App *m_query, *m_export, *m_verify;

  std::string m_user, m_type, m_since, m_until, m_mailbox, m_ip, m_msgid;
  std::uint64_t m_after = 0;
  unsigned m_limit = 100;
  bool m_checkpoints = false;
  std::string m_records_file, m_checkpoints_file, m_key;
};

} // namespace dovewarden::cli
