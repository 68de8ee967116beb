/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "guid.h"
#include "mail-storage-private.h"
#include "dovewarden-user.h"
#include "dovewarden-event.h"
#include "dovewarden-sink.h"
#include "dovewarden-mailbox.h"

static struct dovewarden_user *dovewarden_mailbox_user(struct mailbox *box)
{
	return DOVEWARDEN_USER_CONTEXT(box->storage->user);
}

const char *dovewarden_mailbox_guid(struct mailbox *box)
{
	struct mailbox_metadata metadata;

	/* an open mailbox has its GUID at hand; opening one costs I/O, and
	   on maildir may write the GUID it did not have yet */
	if (!box->opened ||
	    mailbox_get_metadata(box, MAILBOX_METADATA_GUID, &metadata) < 0)
		return NULL;
	return guid_128_to_string(metadata.guid);
}

static void
dovewarden_mailbox_send(struct mailbox *box, const char *type,
			const char *guid, const char *old_name)
{
	struct dovewarden_user *duser = dovewarden_mailbox_user(box);
	struct dovewarden_sink *sink;

	if (duser == NULL)
		return;
	sink = dovewarden_event_begin(duser, type,
				      dovewarden_user_origin(duser, FALSE));
	if (sink != NULL) {
		dovewarden_sink_add_str(sink, "mailbox", mailbox_get_vname(box));
		dovewarden_sink_add_str(sink, "mailbox_guid", guid);
		dovewarden_sink_add_str(sink, "old_mailbox", old_name);
		dovewarden_event_send(duser);
	}
	dovewarden_event_end(duser);
}

void dovewarden_mailbox_create(struct mailbox *box)
{
	dovewarden_mailbox_send(box, "mailbox.create",
				dovewarden_mailbox_guid(box), NULL);
}

void *dovewarden_mailbox_delete_begin(struct mailbox *box)
{
	const char *guid;

	if (dovewarden_mailbox_user(box) == NULL)
		return NULL;
	/* Dovecot opens the mailbox to delete it: its GUID is gone after */
	guid = dovewarden_mailbox_guid(box);
	return guid == NULL ? NULL : p_strdup(box->pool, guid);
}

void dovewarden_mailbox_delete_commit(void *guid, struct mailbox *box)
{
	dovewarden_mailbox_send(box, "mailbox.delete", guid, NULL);
}

void dovewarden_mailbox_rename(struct mailbox *src, struct mailbox *dest)
{
	dovewarden_mailbox_send(dest, "mailbox.rename",
				dovewarden_mailbox_guid(dest),
				mailbox_get_vname(src));
}

void dovewarden_mailbox_set_subscribed(struct mailbox *box, bool subscribed)
{
	/* a subscription may name a mailbox that does not exist */
	dovewarden_mailbox_send(box, subscribed ? "mailbox.subscribe" :
				"mailbox.unsubscribe", NULL, NULL);
}
