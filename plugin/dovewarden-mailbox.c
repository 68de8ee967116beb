/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "mail-storage-private.h"
#include "dovewarden-user.h"
#include "dovewarden-event.h"
#include "dovewarden-sink.h"
#include "dovewarden-mailbox.h"

static struct dovewarden_user *dovewarden_mailbox_user(struct mailbox *box)
{
	return DOVEWARDEN_USER_CONTEXT(box->storage->user);
}

static void
dovewarden_mailbox_send(struct mailbox *box, const char *type,
			const char *old_name)
{
	struct dovewarden_user *duser = dovewarden_mailbox_user(box);
	struct dovewarden_sink *sink;

	if (duser == NULL)
		return;
	sink = dovewarden_event_begin(duser, type,
				      dovewarden_user_origin(duser, FALSE));
	if (sink != NULL) {
		dovewarden_sink_add_str(sink, "mailbox", mailbox_get_vname(box));
		dovewarden_sink_add_str(sink, "old_mailbox", old_name);
		dovewarden_event_send(duser);
	}
	dovewarden_event_end(duser);
}

void dovewarden_mailbox_create(struct mailbox *box)
{
	dovewarden_mailbox_send(box, "mailbox.create", NULL);
}

void dovewarden_mailbox_delete_commit(void *txn ATTR_UNUSED,
				      struct mailbox *box)
{
	dovewarden_mailbox_send(box, "mailbox.delete", NULL);
}

void dovewarden_mailbox_rename(struct mailbox *src, struct mailbox *dest)
{
	dovewarden_mailbox_send(dest, "mailbox.rename",
				mailbox_get_vname(src));
}

void dovewarden_mailbox_set_subscribed(struct mailbox *box, bool subscribed)
{
	dovewarden_mailbox_send(box, subscribed ? "mailbox.subscribe" :
				"mailbox.unsubscribe", NULL);
}
