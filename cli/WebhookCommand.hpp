#pragma once

#include "AdminClient.hpp"
#include "Settings.hpp"

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include <string>

namespace CLI {
class App;
}

namespace dovewarden::cli {

// `dovewarden webhook add|list|show|update|rm|enable|disable|test|
// deliveries|redeliver|recover` (docs/cli.md): the webhook endpoints
// through the admin API's /v1/webhooks routes.
class WebhookCommand {
public:
  // Adds "webhook" and its subcommands to app, which must outlive this.
  explicit WebhookCommand(CLI::App &app);
  WebhookCommand(const WebhookCommand &) = delete;
  WebhookCommand &operator=(const WebhookCommand &) = delete;

  // Returns true if the parsed command line chose "webhook".
  bool chosen() const;

  // Returns the body of the add or update request the options ask for (only
  // the members given), or a usage failure.
  tl::expected<nlohmann::json, Failure> endpoint_body() const;

  // Runs the chosen subcommand. Returns what to print (the answer's JSON if
  // json_output), or the failure. Throws nlohmann::json::exception if the
  // answer is not what the API promises.
  tl::expected<std::string, Failure> run(AdminClient &client,
                                         bool json_output) const;

private:
  tl::expected<std::string, Failure> run_endpoint(AdminClient &client,
                                                  bool json_output) const;
  tl::expected<std::string, Failure> run_save(AdminClient &client,
                                              bool json_output) const;
  tl::expected<std::string, Failure> run_recover(AdminClient &client,
                                                 bool json_output) const;
  tl::expected<std::string, Failure> run_delivery(AdminClient &client,
                                                  bool json_output) const;
  std::string endpoint_path(const std::string &tail = "") const;
  // Returns true if the chosen subcommand got option name.
  bool given(const char *name) const;

  CLI::App *m_webhook;
  CLI::App *m_add, *m_list, *m_show, *m_update, *m_remove, *m_enable,
      *m_disable, *m_test, *m_deliveries, *m_redeliver, *m_recover;

  std::string m_id; // an endpoint's, or a delivery's for redeliver
  std::string m_url, m_events, m_filter, m_description, m_secret, m_timeout,
      m_batch_wait, m_grace, m_since, m_until;
  double m_rate_limit = 0;
  unsigned m_concurrency = 0, m_batch_max = 0, m_limit = 20;
  bool m_rotate_secret = false, m_show_secret = false;
};

} // namespace dovewarden::cli
