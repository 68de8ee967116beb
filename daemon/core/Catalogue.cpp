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

// by name; docs/events.md describes each
constexpr std::array<std::string_view, 72> k_fields{{
    "actor",
    "after_seq",
    "categories",
    "cmd_args",
    "cmd_name",
    "cmd_tag",
    "delivery_id",
    "duration",
    "duration_ms",
    "enabled",
    "endpoint_id",
    "error",
    "finished_us",
    "flags",
    "from",
    "full",
    "host",
    "inst",
    "ip",
    "keywords",
    "kind",
    "lock_wait_usecs",
    "lost",
    "mail_from",
    "mailbox",
    "mailbox_guid",
    "mask",
    "message_from",
    "message_id",
    "message_size",
    "message_subject",
    "message_vsize",
    "method",
    "msgid",
    "net_in_bytes",
    "net_out_bytes",
    "new_mailbox",
    "next_seq",
    "old_flags",
    "old_mailbox",
    "old_uidvalidity",
    "origin",
    "path",
    "pid",
    "port",
    "priority",
    "queued",
    "rcpt_to",
    "reason",
    "recovered",
    "running_usecs",
    "secret_rotated",
    "seq",
    "session",
    "size",
    "src_mailbox",
    "src_uid",
    "started_us",
    "status",
    "subject",
    "svc",
    "tagged_reply",
    "tagged_reply_state",
    "ts",
    "uid",
    "uidvalidity",
    "url",
    "url_host",
    "user",
    "users",
    "version",
    "vsize",
}};

} // namespace

bool is_catalogue_type(std::string_view type) {
  return std::find(k_types.begin(), k_types.end(), type) != k_types.end();
}

const std::vector<std::string_view> &catalogue_types() {
  static const std::vector<std::string_view> types(k_types.begin(),
                                                   k_types.end());
  return types;
}

const std::vector<std::string_view> &catalogue_fields() {
  static const std::vector<std::string_view> fields(k_fields.begin(),
                                                    k_fields.end());
  return fields;
}

bool is_selected_by_name_only(std::string_view type) {
  return type == "message.open";
}

} // namespace dovewarden::core
