#pragma once

#include "core/Event.hpp"
#include "store/Priority.hpp"

#include <tl/expected.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::replication {

// Decides which events queue their user for a sync, and at what priority.
// A trigger list is comma-separated; each item is an event-type glob
// ("message.*") or "imap_command_finished:CMD" for a command that succeeded
// ("imap_command_finished:UID MOVE"). Changes made by dsync (origin=dsync)
// and events the daemon raised itself never trigger.
class Trigger {
public:
  // The brief's default: new mail high, every other change low.
  static constexpr const char *k_default_high =
      "message.new,message.append,message.copy,message.move,"
      "mail_delivery_finished,imap_command_finished:APPEND,"
      "imap_command_finished:COPY,imap_command_finished:UID COPY,"
      "imap_command_finished:MOVE,imap_command_finished:UID MOVE";
  static constexpr const char *k_default_low =
      "message.expunge,message.read,message.trash,flags.*,mailbox.create,"
      "mailbox.delete,mailbox.rename,mailbox.subscribe,mailbox.unsubscribe,"
      "imap_command_finished:STORE,imap_command_finished:UID STORE,"
      "imap_command_finished:EXPUNGE,imap_command_finished:UID EXPUNGE,"
      "imap_command_finished:CLOSE,"
      "imap_command_finished:CREATE,imap_command_finished:DELETE,"
      "imap_command_finished:RENAME,imap_command_finished:SUBSCRIBE,"
      "imap_command_finished:UNSUBSCRIBE,imap_command_finished:SETMETADATA,"
      "imap_command_finished:SETACL,imap_command_finished:DELETEACL";

  struct Error {
    std::string setting;
    std::string message;
  };

  // Parses the high and the low list. Returns the trigger, or the setting
  // at fault and why.
  static tl::expected<Trigger, Error> parse(std::string_view high,
                                            std::string_view low);
  static Trigger defaults();

  // Returns the priority event asks for its user, or nothing if it does not
  // trigger replication (or names no user).
  std::optional<store::Priority> priority(const core::Event &event) const;

private:
  struct Rule {
    std::string type_glob;
    std::string command; // "": any event of the type
    bool literal = true; // type_glob has no wildcard: compared as it is
  };

  static tl::expected<std::vector<Rule>, std::string>
  parse_rules(std::string_view list);
  static bool matches(const std::vector<Rule> &rules, const core::Event &event);

  std::vector<Rule> m_high;
  std::vector<Rule> m_low;
};

} // namespace dovewarden::replication
