/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "mail-storage-hooks.h"
#include "notify-plugin.h"
#include "dovewarden-compat.h"
#include "dovewarden-user.h"
#include "dovewarden-txn.h"
#include "dovewarden-mailbox.h"
#include "dovewarden-command.h"
#include "dovewarden-open.h"
#include "dovewarden-event.h"
#include "dovewarden-plugin.h"

const char *dovewarden_plugin_version = DOVECOT_ABI_VERSION;
const char *dovewarden_plugin_dependencies[] = { "notify", NULL };

static struct notify_context *dovewarden_notify_ctx;

static void dovewarden_mail_user_created(struct mail_user *user)
{
	struct dovewarden_user *duser;

	dovewarden_user_created(user);
	duser = DOVEWARDEN_USER_CONTEXT(user);
	if (user->service != NULL && strcmp(user->service, "imap") == 0 &&
	    duser != NULL)
		dovewarden_command_watch(duser);
}

static void dovewarden_mailbox_allocated(struct mailbox *box ATTR_UNUSED)
{
	dovewarden_command_filter_check();
}

static const struct notify_vfuncs dovewarden_vfuncs = {
	.mail_transaction_begin = dovewarden_txn_begin,
	.mail_save = dovewarden_txn_save,
	.mail_copy = dovewarden_txn_copy,
	.mail_expunge = dovewarden_txn_expunge,
	.mail_update_flags = dovewarden_txn_update_flags,
	.mail_update_keywords = dovewarden_txn_update_keywords,
	.mail_transaction_commit = dovewarden_txn_commit,
	.mail_transaction_rollback = dovewarden_txn_rollback,
	.mailbox_create = dovewarden_mailbox_create,
	.mailbox_delete_begin = dovewarden_mailbox_delete_begin,
	.mailbox_delete_commit = dovewarden_mailbox_delete_commit,
	.mailbox_rename = dovewarden_mailbox_rename,
	.mailbox_set_subscribed = dovewarden_mailbox_set_subscribed,
};

static struct mail_storage_hooks dovewarden_mail_storage_hooks = {
	.mail_user_created = dovewarden_mail_user_created,
	.mailbox_allocated = dovewarden_mailbox_allocated,
	.mail_allocated = dovewarden_open_mail_allocated,
};

void dovewarden_plugin_init(struct module *module)
{
	dovewarden_notify_ctx = notify_register(&dovewarden_vfuncs);
	mail_storage_hooks_add(module, &dovewarden_mail_storage_hooks);
	dovewarden_command_init();
}

void dovewarden_plugin_deinit(void)
{
	dovewarden_command_deinit();
	mail_storage_hooks_remove(&dovewarden_mail_storage_hooks);
	dovewarden_notify_unregister(&dovewarden_notify_ctx);
	dovewarden_event_deinit();
	dovewarden_txn_deinit();
	dovewarden_users_deinit();
}
