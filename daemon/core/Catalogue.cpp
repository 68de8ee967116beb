#include "core/Catalogue.hpp"

#include <algorithm>
#include <array>

namespace dovewarden::core {

namespace {

constexpr std::array<std::string_view, 34> k_types{{
    // Dovecot's own names
    "imap_command_finished",
    "mail_delivery_finished",
    // RFC 5423 message-store events, from the plugin
    "message.new",
    "message.append",
    "message.copy",
    "message.move",
    "message.expunge",
    "message.read",
    "message.trash",
    "message.open",
    "flags.set",
    "flags.clear",
    "mailbox.create",
    "mailbox.delete",
    "mailbox.rename",
    "mailbox.subscribe",
    "mailbox.unsubscribe",
    "user.login",
    "user.logout",
    // raised by the daemon
    "replication.succeeded",
    "replication.failed",
    "mailbox.uidvalidity_changed",
    "webhook.endpoint_disabled",
    "events.lost",
    "daemon.started",
    "daemon.stopped",
    // raised by the admin API after a change
    "admin.replicate",
    "admin.remove_user",
    "admin.webhook_add",
    "admin.webhook_update",
    "admin.webhook_remove",
    "admin.webhook_test",
    "admin.recover",
    "admin.redeliver",
}};

} // namespace

bool is_catalogue_type(std::string_view type) {
  return std::find(k_types.begin(), k_types.end(), type) != k_types.end();
}

bool is_selected_by_name_only(std::string_view type) {
  return type == "message.open";
}

} // namespace dovewarden::core
