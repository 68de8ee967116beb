/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "mail-storage-private.h"
#include "dovewarden-settings.h"
#include "dovewarden-user.h"
#include "dovewarden-event.h"
#include "dovewarden-sink.h"
#include "dovewarden-message.h"
#include "dovewarden-mailbox.h"
#include "dovewarden-open.h"

#define DOVEWARDEN_MAIL_CONTEXT_REQUIRE(obj) \
	MODULE_CONTEXT_REQUIRE(obj, dovewarden_mail_module)

struct dovewarden_mail {
	union mail_module_context module_ctx;
	struct dovewarden_user *duser;
	/* the mailbox's GUID, looked up at the first open */
	const char *mailbox_guid;
	bool mailbox_guid_known;
};

static MODULE_CONTEXT_DEFINE_INIT(dovewarden_mail_module,
				  &mail_module_register);

static const char *
dovewarden_open_mailbox_guid(struct dovewarden_mail *dmail, struct mail *mail)
{
	struct mail_private *pmail = (struct mail_private *)mail;
	const char *guid;

	if (!dmail->mailbox_guid_known) {
		guid = dovewarden_mailbox_guid(mail->box);
		dmail->mailbox_guid = p_strdup(pmail->pool, guid);
		dmail->mailbox_guid_known = TRUE;
	}
	return dmail->mailbox_guid;
}

static void dovewarden_open_send(struct dovewarden_mail *dmail,
				 struct mail *mail, const char *reason)
{
	struct dovewarden_user *duser = dmail->duser;
	struct dovewarden_message msg;
	struct dovewarden_message_box box;
	struct mailbox_status status;
	struct dovewarden_sink *sink;

	/* dsync reads every message it copies to the replica */
	if (duser->user->dsyncing ||
	    (mail->transaction->flags & MAILBOX_TRANSACTION_FLAG_SYNC) != 0)
		return;
	mailbox_get_open_status(mail->box, STATUS_UIDVALIDITY, &status);
	i_zero(&msg);
	msg.uid = mail->uid;
	msg.uidvalidity = status.uidvalidity;
	if ((duser->set.fields & DOVEWARDEN_FIELD_MSGID) != 0)
		msg.msgid = dovewarden_message_cached_header(mail,
							     "Message-ID");
	box.name = mailbox_get_vname(mail->box);
	box.guid = dovewarden_open_mailbox_guid(dmail, mail);
	sink = dovewarden_message_begin(&msg, duser, DOVEWARDEN_OPEN_EVENT,
					dovewarden_user_origin(duser, FALSE),
					&box);
	if (sink != NULL) {
		if (reason != NULL && *reason != '\0')
			dovewarden_sink_add_str(sink, "reason", reason);
		dovewarden_event_send(duser);
	}
	dovewarden_event_end(duser);
}

static int
dovewarden_open_istream_opened(struct mail *_mail, struct istream **stream)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct dovewarden_mail *dmail = DOVEWARDEN_MAIL_CONTEXT_REQUIRE(mail);
	/* what Dovecot's mail_opened says: what the stream was opened for */
	const char *reason = mail->get_stream_reason;

	if (dmail->module_ctx.super.istream_opened(_mail, stream) < 0)
		return -1;
	dovewarden_open_send(dmail, _mail, reason);
	return 0;
}

void dovewarden_open_mail_allocated(struct mail *_mail)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct dovewarden_user *duser = DOVEWARDEN_USER_CONTEXT(
		_mail->box->storage->user);
	struct mail_vfuncs *v = mail->vlast;
	struct dovewarden_mail *dmail;

	/* a storage without istream_opened() raises no mail_opened */
	if (duser == NULL || !duser->set.opens || !duser->client_reads ||
	    v->istream_opened == NULL)
		return;
	dmail = p_new(mail->pool, struct dovewarden_mail, 1);
	dmail->duser = duser;
	dmail->module_ctx.super = *v;
	mail->vlast = &dmail->module_ctx.super;
	v->istream_opened = dovewarden_open_istream_opened;
	MODULE_CONTEXT_SET(mail, dovewarden_mail_module, dmail);
}
