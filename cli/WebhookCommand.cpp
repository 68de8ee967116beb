#include "WebhookCommand.hpp"

#include "Format.hpp"
#include "util/Duration.hpp"
#include "util/Strings.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace dovewarden::cli {

namespace {

using nlohmann::json;

std::string check_duration(const std::string &text) {
  const auto duration = util::parse_duration(text);
  return duration ? std::string() : duration.error();
}

std::string dump(const json &answer) { return answer.dump(2) + "\n"; }

std::string nothing(const json &) { return ""; }

// What to print of the API's answer: its JSON if json_output, else what
// human makes of it.
template <typename Human>
tl::expected<std::string, Failure>
printed(const tl::expected<json, Failure> &answer, bool json_output,
        Human human) {
  if (!answer)
    return tl::unexpected(answer.error());
  return json_output ? dump(*answer) : human(*answer);
}

void add_endpoint_options(CLI::App &command, std::string &url,
                          std::string &events, std::string &filter,
                          std::string &description, std::string &secret,
                          std::string &timeout, double &rate_limit,
                          unsigned &concurrency, unsigned &batch_max,
                          std::string &batch_wait) {
  command.add_option("--url", url, "where to POST events (http or https)")
      ->type_name("URL");
  command
      .add_option("--events", events,
                  "event type globs, comma-separated ('message.*,flags.*')")
      ->type_name("GLOBS");
  command
      .add_option("--filter", filter,
                  "Dovecot event-filter ('user=*@example.com AND "
                  "mailbox=INBOX'); '' for none")
      ->type_name("EXPR");
  command.add_option("--description", description, "a note for people")
      ->type_name("TEXT");
  command.add_option("--secret", secret, "the signing secret (whsec_…)")
      ->type_name("SECRET");
  command
      .add_option("--timeout", timeout, "per request, at most 5m (default 15s)")
      ->type_name("DURATION")
      ->check(check_duration);
  command
      .add_option("--rate-limit", rate_limit,
                  "requests per second at most; 0: unlimited (the default)")
      ->type_name("N");
  command
      .add_option("--concurrency", concurrency,
                  "requests in flight at most (default 4)")
      ->type_name("N");
  command
      .add_option("--batch-max", batch_max,
                  "events per request; 1: no batching (the default)")
      ->type_name("N");
  command
      .add_option("--batch-wait", batch_wait,
                  "how long a batch may wait to fill (default 0s)")
      ->type_name("DURATION")
      ->check(check_duration);
}

} // namespace

WebhookCommand::WebhookCommand(CLI::App &app) {
  m_webhook = app.add_subcommand("webhook", "manage webhook endpoints");
  m_webhook->require_subcommand(1);

  m_add = m_webhook->add_subcommand(
      "add", "register an endpoint; prints its id and secret");
  add_endpoint_options(*m_add, m_url, m_events, m_filter, m_description,
                       m_secret, m_timeout, m_rate_limit, m_concurrency,
                       m_batch_max, m_batch_wait);
  m_add->get_option("--url")->required();
  m_add->get_option("--events")->required();

  m_list = m_webhook->add_subcommand("list", "list the endpoints");

  m_show = m_webhook->add_subcommand("show", "show an endpoint");
  m_show->add_option("ID", m_id, "endpoint id")->required();
  m_show->add_flag("--secret", m_show_secret, "show its secrets too");

  m_update = m_webhook->add_subcommand("update",
                                       "change an endpoint; rotate its secret");
  m_update->add_option("ID", m_id, "endpoint id")->required();
  add_endpoint_options(*m_update, m_url, m_events, m_filter, m_description,
                       m_secret, m_timeout, m_rate_limit, m_concurrency,
                       m_batch_max, m_batch_wait);
  m_update->add_flag("--rotate-secret", m_rotate_secret,
                     "make a new secret; the old one signs on for --grace");
  m_update
      ->add_option("--grace", m_grace,
                   "how long the old secret keeps signing (default 24h)")
      ->type_name("DURATION")
      ->check(check_duration);

  m_remove = m_webhook->add_subcommand(
      "rm", "remove an endpoint, its pending deliveries and its log");
  m_remove->add_option("ID", m_id, "endpoint id")->required();
  m_enable = m_webhook->add_subcommand(
      "enable", "send events to an endpoint again (a fresh failure streak)");
  m_enable->add_option("ID", m_id, "endpoint id")->required();
  m_disable = m_webhook->add_subcommand("disable",
                                        "stop sending events to an endpoint");
  m_disable->add_option("ID", m_id, "endpoint id")->required();
  m_test = m_webhook->add_subcommand(
      "test", "send a webhook.test event; prints the delivery id");
  m_test->add_option("ID", m_id, "endpoint id")->required();

  m_deliveries = m_webhook->add_subcommand(
      "deliveries", "an endpoint's delivery log, newest first");
  m_deliveries->add_option("ID", m_id, "endpoint id")->required();
  m_deliveries
      ->add_option("--limit", m_limit, "deliveries at most (default 20)")
      ->type_name("N")
      ->check(CLI::Range(1u, 1000u));
  m_redeliver = m_webhook->add_subcommand(
      "redeliver", "send a delivery again, with the same webhook-id");
  m_redeliver->add_option("DELIVERY", m_id, "delivery id (msg_…)")->required();
  m_recover = m_webhook->add_subcommand(
      "recover", "send an endpoint's failed deliveries of a time range again");
  m_recover->add_option("ID", m_id, "endpoint id")->required();
  m_recover
      ->add_option("--since", m_since,
                   "from: RFC 3339 (2024-05-01T12:00:00Z) or ago (2h)")
      ->type_name("TIME")
      ->required();
  m_recover->add_option("--until", m_until, "to (default now), as --since")
      ->type_name("TIME");
}

bool WebhookCommand::chosen() const { return m_webhook->parsed(); }

bool WebhookCommand::given(const char *name) const {
  const auto *command = m_add->parsed() ? m_add : m_update;
  return command->count(name) > 0;
}

tl::expected<json, Failure> WebhookCommand::endpoint_body() const {
  json body = json::object();
  const auto usage = [](std::string message) {
    return tl::unexpected(Failure{k_exit_usage, std::move(message)});
  };
  if (given("--url"))
    body["url"] = m_url;
  if (given("--events")) {
    json globs = json::array();
    for (const auto glob : util::split(m_events, ','))
      globs.push_back(std::string(glob));
    if (globs.empty())
      return usage("--events: no event type given");
    body["events"] = globs;
  }
  if (given("--filter"))
    body["filter"] = m_filter;
  if (given("--description"))
    body["description"] = m_description;
  if (given("--secret"))
    body["secret"] = m_secret;
  if (given("--timeout"))
    body["timeout"] = m_timeout;
  if (given("--rate-limit"))
    body["rate_limit"] = m_rate_limit;
  if (given("--concurrency"))
    body["concurrency"] = m_concurrency;
  if (given("--batch-max"))
    body["batch_max"] = m_batch_max;
  if (given("--batch-wait"))
    body["batch_wait"] = m_batch_wait;
  if (m_update->parsed()) {
    if (m_rotate_secret)
      body["rotate_secret"] = true;
    if (given("--grace")) {
      if (!m_rotate_secret && !given("--secret"))
        return usage("--grace: only with --rotate-secret or --secret");
      body["grace"] = m_grace;
    }
    if (body.empty())
      return usage("update: nothing to change");
  }
  return body;
}

std::string WebhookCommand::endpoint_path(const std::string &tail) const {
  return "/v1/webhooks/" + AdminClient::escape(m_id) + tail;
}

tl::expected<std::string, Failure> WebhookCommand::run(AdminClient &client,
                                                       bool json_output) const {
  if (m_redeliver->parsed())
    return run_delivery(client, json_output);
  return run_endpoint(client, json_output);
}

tl::expected<std::string, Failure>
WebhookCommand::run_endpoint(AdminClient &client, bool json_output) const {
  if (m_add->parsed() || m_update->parsed())
    return run_save(client, json_output);
  if (m_list->parsed())
    return printed(client.get("/v1/webhooks"), json_output, format_endpoints);
  if (m_show->parsed())
    return printed(client.get(endpoint_path(m_show_secret ? "?secrets=1" : "")),
                   json_output, format_endpoint);
  if (m_remove->parsed()) {
    const auto answer = client.remove(endpoint_path());
    if (!answer)
      return tl::unexpected(answer.error());
    return json_output ? dump(json{{"removed", m_id}}) : "";
  }
  if (m_enable->parsed() || m_disable->parsed())
    return printed(
        client.patch(endpoint_path(), json{{"enabled", m_enable->parsed()}}),
        json_output, nothing);
  if (m_test->parsed())
    return printed(client.post(endpoint_path("/test"), json::object()),
                   json_output, [](const json &answer) {
                     return answer.at("id").get<std::string>() + "\n";
                   });
  if (m_deliveries->parsed())
    return printed(client.get(endpoint_path("/deliveries?limit=") +
                              std::to_string(m_limit)),
                   json_output, format_deliveries);
  return run_recover(client, json_output);
}

tl::expected<std::string, Failure>
WebhookCommand::run_save(AdminClient &client, bool json_output) const {
  const auto body = endpoint_body();
  if (!body)
    return tl::unexpected(body.error());
  const auto answer = m_update->parsed() ? client.patch(endpoint_path(), *body)
                                         : client.post("/v1/webhooks", *body);
  // accepted, but something will not work as it stands (a host that does
  // not resolve now): on stderr, so that the output stays the same
  if (answer && !json_output)
    for (const auto &warning : answer->value("warnings", json::array()))
      std::cerr << "dovewarden: warning: " << warning.get<std::string>()
                << "\n";
  if (m_update->parsed())
    return printed(answer, json_output, format_endpoint);
  // the one time the new secret is shown
  return printed(answer, json_output, [](const json &answer) {
    return format_table(
        {{"id", answer.at("id").get<std::string>()},
         {"secret",
          answer.at("secrets").at(0).at("secret").get<std::string>()}});
  });
}

tl::expected<std::string, Failure>
WebhookCommand::run_recover(AdminClient &client, bool json_output) const {
  json body{{"since", m_since}};
  if (!m_until.empty())
    body["until"] = m_until;
  return printed(client.post(endpoint_path("/recover"), body), json_output,
                 [](const json &answer) {
                   return std::to_string(
                              answer.at("recovered").get<std::uint64_t>()) +
                          " deliveries pending again\n";
                 });
}

tl::expected<std::string, Failure>
WebhookCommand::run_delivery(AdminClient &client, bool json_output) const {
  return printed(
      client.post("/v1/deliveries/" + AdminClient::escape(m_id) + "/redeliver",
                  json::object()),
      json_output, nothing);
}

} // namespace dovewarden::cli
