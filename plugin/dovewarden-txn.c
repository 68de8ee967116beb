/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "seq-range-array.h"
#include "mail-storage-private.h"
#include "dovewarden-user.h"
#include "dovewarden-event.h"
#include "dovewarden-defer.h"
#include "dovewarden-sink.h"
#include "dovewarden-message.h"
#include "dovewarden-mailbox.h"
#include "dovewarden-txn.h"

struct dovewarden_txn {
	/* made with the first change: most transactions (each NOOP's sync,
	   say) change nothing */
	pool_t pool;
	struct dovewarden_user *duser;
	struct mailbox *box;
	const char *origin;
	/* message.new for deliveries, message.append for client saves */
	const char *save_type;
	ARRAY(struct dovewarden_message) messages;
	/* the mailbox as it was at commit: it may be closed by the time the
	   events are sent */
	struct dovewarden_message_box committed_box;
};

/* the source of the MOVE whose copy was seen last: its expunge is part
   of the message.move, not an event of its own */
static struct {
	struct mailbox *box;
	uint32_t uid;
} dovewarden_move_source;

/* the last one freed: every command has a transaction (a NOOP's sync),
   one allocation fewer each */
static struct dovewarden_txn *dovewarden_txn_spare = NULL;

void *dovewarden_txn_begin(struct mailbox_transaction_context *t)
{
	struct dovewarden_user *duser =
		DOVEWARDEN_USER_CONTEXT(t->box->storage->user);
	struct dovewarden_txn *txn;

	if (duser == NULL)
		return NULL;
	/* deliveries assign UIDs only when asked: replication and webhooks
	   need them */
	if (duser->delivering)
		t->flags |= MAILBOX_TRANSACTION_FLAG_ASSIGN_UIDS;

	if (dovewarden_txn_spare != NULL) {
		txn = dovewarden_txn_spare;
		dovewarden_txn_spare = NULL;
	} else {
		txn = i_new(struct dovewarden_txn, 1);
	}
	txn->duser = duser;
	txn->box = t->box;
	txn->origin = dovewarden_user_origin(duser,
		(t->flags & MAILBOX_TRANSACTION_FLAG_SYNC) != 0);
	txn->save_type = duser->delivering ? "message.new" : "message.append";
	return txn;
}

static struct dovewarden_message *
dovewarden_txn_add(struct dovewarden_txn *txn, enum dovewarden_change change,
		   struct mail *mail)
{
	struct dovewarden_message *msg;

	if (txn->pool == NULL) {
		/* most change one message: the array must not outgrow the
		   pool's first block, which would make another */
		txn->pool = pool_alloconly_create("dovewarden transaction",
						  1024);
		p_array_init(&txn->messages, txn->pool, 2);
	}
	msg = array_append_space(&txn->messages);
	msg->change = change;
	msg->uid = mail->uid;
	return msg;
}

/* which message a change is about, when the index cache knows: the audit
   log is asked for a message's history by its Message-ID */
static void dovewarden_txn_read_msgid(struct dovewarden_txn *txn,
				      struct dovewarden_message *msg,
				      struct mail *mail)
{
	if ((txn->duser->set.fields & DOVEWARDEN_FIELD_MSGID) != 0) {
		msg->msgid = p_strdup(txn->pool,
			dovewarden_message_cached_header(mail, "Message-ID"));
	}
}

void dovewarden_txn_save(void *_txn, struct mail *mail)
{
	struct dovewarden_txn *txn = _txn;
	struct dovewarden_message *msg;

	if (txn == NULL)
		return;
	msg = dovewarden_txn_add(txn, DOVEWARDEN_CHANGE_SAVE, mail);
	dovewarden_message_read_fields(msg, txn->pool, &txn->duser->set, mail);
}

void dovewarden_txn_copy(void *_txn, struct mail *src, struct mail *dst)
{
	struct dovewarden_txn *txn = _txn;
	struct mail_save_context *save_ctx = dst->transaction->save_ctx;
	struct dovewarden_message *msg;
	bool moving = save_ctx != NULL && save_ctx->moving;

	if (txn == NULL)
		return;
	msg = dovewarden_txn_add(txn, moving ? DOVEWARDEN_CHANGE_MOVE :
				 DOVEWARDEN_CHANGE_COPY, dst);
	msg->src_mailbox = p_strdup(txn->pool, mailbox_get_vname(src->box));
	msg->src_uid = src->uid;
	dovewarden_txn_read_msgid(txn, msg, src);
	if (moving) {
		dovewarden_move_source.box = src->box;
		dovewarden_move_source.uid = src->uid;
	}
}

void dovewarden_txn_expunge(void *_txn, struct mail *mail)
{
	struct dovewarden_txn *txn = _txn;
	struct mail_private *pmail = (struct mail_private *)mail;
	struct dovewarden_message *msg;

	if (mail->box == dovewarden_move_source.box &&
	    mail->uid == dovewarden_move_source.uid) {
		i_zero(&dovewarden_move_source);
		return;
	}
	if (txn == NULL)
		return;
	msg = dovewarden_txn_add(txn, DOVEWARDEN_CHANGE_EXPUNGE, mail);
	msg->autoexpunged = pmail->autoexpunged;
	dovewarden_txn_read_msgid(txn, msg, mail);
}

/* flags and keywords of one message arrive as two calls; old_flags are
   the flags before the first, NULL if they are the mail's now */
static struct dovewarden_message *
dovewarden_txn_flag_change(struct dovewarden_txn *txn, struct mail *mail,
			   const enum mail_flags *old_flags)
{
	struct dovewarden_message *msg;
	unsigned int count = array_is_created(&txn->messages) ?
		array_count(&txn->messages) : 0;

	if (count > 0) {
		msg = array_idx_modifiable(&txn->messages, count - 1);
		if (msg->change == DOVEWARDEN_CHANGE_FLAGS &&
		    msg->uid == mail->uid)
			return msg;
	}
	msg = dovewarden_txn_add(txn, DOVEWARDEN_CHANGE_FLAGS, mail);
	msg->old_flags = old_flags != NULL ? *old_flags : mail_get_flags(mail);
	dovewarden_txn_read_msgid(txn, msg, mail);
	return msg;
}

void dovewarden_txn_update_flags(void *_txn, struct mail *mail,
				 enum mail_flags old_flags)
{
	struct dovewarden_txn *txn = _txn;
	struct dovewarden_message *msg;
	enum mail_flags new_flags = mail_get_flags(mail);

	if (txn == NULL || new_flags == old_flags)
		return;
	msg = dovewarden_txn_flag_change(txn, mail, &old_flags);
	msg->flags_added |= new_flags & ENUM_NEGATE(old_flags);
	msg->flags_removed |= old_flags & ENUM_NEGATE(new_flags);
}

void dovewarden_txn_update_keywords(void *_txn, struct mail *mail,
				    const char *const *old_keywords)
{
	struct dovewarden_txn *txn = _txn;
	struct dovewarden_message *msg;

	if (txn == NULL)
		return;
	msg = dovewarden_txn_flag_change(txn, mail, NULL);
	dovewarden_message_keywords_diff(msg, txn->pool, old_keywords,
					 mail_get_keywords(mail));
}

static void dovewarden_txn_destroy(struct dovewarden_txn *txn)
{
	pool_unref(&txn->pool);
	if (dovewarden_txn_spare == NULL) {
		i_zero(txn);
		dovewarden_txn_spare = txn;
	} else {
		i_free(txn);
	}
}

static void dovewarden_txn_free(struct dovewarden_txn *txn)
{
	/* a MOVE's expunge comes before its transactions end; a source
	   left over from a failed MOVE must not hide a later expunge */
	i_zero(&dovewarden_move_source);
	dovewarden_txn_destroy(txn);
}

static void dovewarden_txn_send(void *context)
{
	struct dovewarden_txn *txn = context;
	const struct dovewarden_message *msg;

	array_foreach(&txn->messages, msg) {
		dovewarden_message_send(msg, txn->duser, txn->origin,
					&txn->committed_box, txn->save_type);
	}
	dovewarden_event_end(txn->duser);
	dovewarden_txn_destroy(txn);
}

void dovewarden_txn_commit(void *_txn,
			   struct mail_transaction_commit_changes *changes)
{
	struct dovewarden_txn *txn = _txn;
	struct dovewarden_message *msg;
	struct seq_range_iter iter;
	struct mailbox_status status;
	unsigned int n = 0;
	uint32_t uid;

	if (txn == NULL)
		return;
	if (txn->pool == NULL) {
		/* nothing changed */
		dovewarden_txn_free(txn);
		return;
	}
	txn->committed_box.name = p_strdup(txn->pool,
					   mailbox_get_vname(txn->box));
	txn->committed_box.guid = p_strdup(txn->pool,
					   dovewarden_mailbox_guid(txn->box));
	mailbox_get_open_status(txn->box, STATUS_UIDVALIDITY, &status);
	seq_range_array_iter_init(&iter, &changes->saved_uids);
	array_foreach_modifiable(&txn->messages, msg) {
		if (dovewarden_message_is_saved(msg)) {
			msg->uid = seq_range_array_iter_nth(&iter, n++, &uid) ?
				uid : 0;
			msg->uidvalidity = changes->uid_validity;
		} else {
			msg->uidvalidity = status.uidvalidity;
		}
	}
	i_zero(&dovewarden_move_source);
	dovewarden_defer(dovewarden_txn_send, txn);
}

void dovewarden_txn_rollback(void *_txn)
{
	struct dovewarden_txn *txn = _txn;

	if (txn != NULL)
		dovewarden_txn_free(txn);
}

void dovewarden_txn_deinit(void)
{
	i_zero(&dovewarden_move_source);
	i_free(dovewarden_txn_spare);
}
