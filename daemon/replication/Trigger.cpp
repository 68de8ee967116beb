#include "replication/Trigger.hpp"

#include "util/Glob.hpp"
#include "util/Strings.hpp"

#include <algorithm>
#include <cctype>

namespace dovewarden::replication {

namespace {

constexpr std::string_view k_command_event = "imap_command_finished";

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return out;
}

} // namespace

tl::expected<std::vector<Trigger::Rule>, std::string>
Trigger::parse_rules(std::string_view list) {
  std::vector<Rule> rules;
  for (const auto item : util::split(list, ',')) {
    const auto colon = item.find(':');
    Rule rule{std::string(util::trim(item.substr(0, colon))), "", true};
    if (colon != std::string_view::npos) {
      rule.command = upper(util::trim(item.substr(colon + 1)));
      if (rule.type_glob != k_command_event || rule.command.empty())
        return tl::unexpected("invalid trigger " + util::quote(item) +
                              ": only imap_command_finished:COMMAND takes a "
                              "command");
    }
    if (rule.type_glob.find_first_of(" \t") != std::string::npos)
      return tl::unexpected("invalid trigger " + util::quote(item) +
                            ": an event type holds no white space");
    rule.literal = rule.type_glob.find_first_of("*?") == std::string::npos;
    rules.push_back(std::move(rule));
  }
  return rules;
}

tl::expected<Trigger, Trigger::Error> Trigger::parse(std::string_view high,
                                                     std::string_view low) {
  Trigger trigger;
  auto high_rules = parse_rules(high);
  if (!high_rules)
    return tl::unexpected(
        Error{"DOVEWARDEN_REPLICATION_HIGH_EVENTS", high_rules.error()});
  auto low_rules = parse_rules(low);
  if (!low_rules)
    return tl::unexpected(
        Error{"DOVEWARDEN_REPLICATION_LOW_EVENTS", low_rules.error()});
  trigger.m_high = std::move(*high_rules);
  trigger.m_low = std::move(*low_rules);
  return trigger;
}

Trigger Trigger::defaults() { return *parse(k_default_high, k_default_low); }

bool Trigger::matches(const std::vector<Rule> &rules,
                      const core::Event &event) {
  const auto &message = event.message;
  const bool command = event.type() == k_command_event;
  // a command that failed changed nothing
  if (command && message.str("tagged_reply_state") != "OK")
    return false;
  const auto name = command ? upper(message.str("cmd_name")) : std::string();
  return std::any_of(rules.begin(), rules.end(), [&](const Rule &rule) {
    // every event is matched against every rule: most have no wildcard
    if (rule.literal ? rule.type_glob != event.type()
                     : !util::glob_match(rule.type_glob, event.type()))
      return false;
    return rule.command.empty() || rule.command == name;
  });
}

std::optional<store::Priority>
Trigger::priority(const core::Event &event) const {
  if (event.source == "daemon" || event.message.str("origin") == "dsync" ||
      event.message.str("user").empty())
    return std::nullopt;
  if (matches(m_high, event))
    return store::Priority::high;
  if (matches(m_low, event))
    return store::Priority::low;
  return std::nullopt;
}

} // namespace dovewarden::replication
