/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "mail-storage-private.h"
#include "dovewarden-settings.h"
#include "dovewarden-user.h"
#include "dovewarden-event.h"
#include "dovewarden-sink.h"
#include "dovewarden-message.h"

static const struct {
	enum mail_flags flag;
	const char *name;
} dovewarden_system_flags[] = {
	{ MAIL_ANSWERED, "\\Answered" },
	{ MAIL_FLAGGED, "\\Flagged" },
	{ MAIL_DELETED, "\\Deleted" },
	{ MAIL_SEEN, "\\Seen" },
	{ MAIL_DRAFT, "\\Draft" },
};

bool dovewarden_message_is_saved(const struct dovewarden_message *msg)
{
	return msg->change == DOVEWARDEN_CHANGE_SAVE ||
		msg->change == DOVEWARDEN_CHANGE_COPY ||
		msg->change == DOVEWARDEN_CHANGE_MOVE;
}

static const char *
dovewarden_header(struct mail *mail, pool_t pool, const char *name)
{
	const char *value;

	if (mail_get_first_header_utf8(mail, name, &value) <= 0)
		return NULL;
	return p_strdup(pool, value);
}

const char *dovewarden_message_cached_header(struct mail *mail,
					     const char *name)
{
	enum mail_lookup_abort orig_abort = mail->lookup_abort;
	const char *value;

	mail->lookup_abort = MAIL_LOOKUP_ABORT_NOT_IN_CACHE;
	if (mail_get_first_header_utf8(mail, name, &value) <= 0)
		value = NULL;
	mail->lookup_abort = orig_abort;
	return value;
}

static void
dovewarden_message_read_headers(struct dovewarden_message *msg, pool_t pool,
				const struct dovewarden_settings *set,
				struct mail *mail)
{
	enum mail_lookup_abort orig_abort = mail->lookup_abort;

	/* reading a header that is not cached costs I/O */
	if (!set->headers_uncached && !mail->saving)
		mail->lookup_abort = MAIL_LOOKUP_ABORT_NOT_IN_CACHE;
	if ((set->fields & DOVEWARDEN_FIELD_MSGID) != 0)
		msg->msgid = dovewarden_header(mail, pool, "Message-ID");
	if ((set->fields & DOVEWARDEN_FIELD_FROM) != 0)
		msg->from = dovewarden_header(mail, pool, "From");
	if ((set->fields & DOVEWARDEN_FIELD_SUBJECT) != 0)
		msg->subject = dovewarden_header(mail, pool, "Subject");
	mail->lookup_abort = orig_abort;
}

void dovewarden_message_read_fields(struct dovewarden_message *msg,
				    pool_t pool,
				    const struct dovewarden_settings *set,
				    struct mail *mail)
{
	if ((set->fields & DOVEWARDEN_FIELD_SIZE) != 0)
		msg->have_size = mail_get_physical_size(mail, &msg->size) == 0;
	if ((set->fields & DOVEWARDEN_FIELD_VSIZE) != 0)
		msg->have_vsize = mail_get_virtual_size(mail, &msg->vsize) == 0;
	if ((set->fields & DOVEWARDEN_FIELD_FLAGS) != 0) {
		msg->flags = mail_get_flags(mail);
		msg->keywords = (const char *const *)
			p_strarray_dup(pool, mail_get_keywords(mail));
	}
	if ((set->fields & DOVEWARDEN_HEADER_FIELDS) != 0)
		dovewarden_message_read_headers(msg, pool, set, mail);
}

static void
dovewarden_keywords_missing(ARRAY_TYPE(const_string) *dest, pool_t pool,
			    const char *const *from, const char *const *in)
{
	for (; *from != NULL; from++) {
		if (str_array_find(in, *from))
			continue;
		if (!array_is_created(dest))
			p_array_init(dest, pool, 4);
		const char *keyword = p_strdup(pool, *from);
		array_push_back(dest, &keyword);
	}
}

void dovewarden_message_keywords_diff(struct dovewarden_message *msg,
				      pool_t pool,
				      const char *const *old_keywords,
				      const char *const *new_keywords)
{
	static const char *const none[] = { NULL };

	if (old_keywords == NULL)
		old_keywords = none;
	dovewarden_keywords_missing(&msg->keywords_added, pool,
				    new_keywords, old_keywords);
	dovewarden_keywords_missing(&msg->keywords_removed, pool,
				    old_keywords, new_keywords);
}

static void
dovewarden_add_flags(struct dovewarden_sink *sink, const char *key,
		     enum mail_flags flags)
{
	const char *names[N_ELEMENTS(dovewarden_system_flags)];
	unsigned int i, count = 0;

	for (i = 0; i < N_ELEMENTS(dovewarden_system_flags); i++) {
		if ((flags & dovewarden_system_flags[i].flag) != 0)
			names[count++] = dovewarden_system_flags[i].name;
	}
	dovewarden_sink_add_strv(sink, key, names, count);
}

static void
dovewarden_add_keywords(struct dovewarden_sink *sink, const char *key,
			const ARRAY_TYPE(const_string) *keywords)
{
	const char *const *names = NULL;
	unsigned int count = 0;

	if (array_is_created(keywords))
		names = array_get(keywords, &count);
	dovewarden_sink_add_strv(sink, key, names, count);
}

struct dovewarden_sink *
dovewarden_message_begin(const struct dovewarden_message *msg,
			 struct dovewarden_user *duser, const char *type,
			 const char *origin,
			 const struct dovewarden_message_box *box)
{
	struct dovewarden_sink *sink =
		dovewarden_event_begin(duser, type, origin);

	if (sink == NULL)
		return NULL;
	dovewarden_sink_add_str(sink, "mailbox", box->name);
	dovewarden_sink_add_str(sink, "mailbox_guid", box->guid);
	dovewarden_sink_add_int(sink, "uid", msg->uid);
	dovewarden_sink_add_int(sink, "uidvalidity", msg->uidvalidity);
	dovewarden_sink_add_str(sink, "msgid", msg->msgid);
	return sink;
}

static void
dovewarden_message_send_saved(const struct dovewarden_message *msg,
			      struct dovewarden_sink *sink)
{
	if (msg->src_mailbox != NULL) {
		dovewarden_sink_add_str(sink, "src_mailbox", msg->src_mailbox);
		dovewarden_sink_add_int(sink, "src_uid", msg->src_uid);
	}
	dovewarden_sink_add_str(sink, "from", msg->from);
	dovewarden_sink_add_str(sink, "subject", msg->subject);
	if (msg->have_size)
		dovewarden_sink_add_int(sink, "size", (int64_t)msg->size);
	if (msg->have_vsize)
		dovewarden_sink_add_int(sink, "vsize", (int64_t)msg->vsize);
	if (msg->keywords != NULL) {
		dovewarden_add_flags(sink, "flags", msg->flags);
		dovewarden_sink_add_strv(sink, "keywords", msg->keywords,
					 str_array_length(msg->keywords));
	}
}

/* flags.set or flags.clear */
static void
dovewarden_message_send_flags(const struct dovewarden_message *msg,
			      struct dovewarden_user *duser,
			      const char *origin,
			      const struct dovewarden_message_box *box,
			      const char *type, enum mail_flags flags,
			      const ARRAY_TYPE(const_string) *keywords)
{
	struct dovewarden_sink *sink;

	if (flags == 0 && !array_is_created(keywords))
		return;
	sink = dovewarden_message_begin(msg, duser, type, origin, box);
	if (sink == NULL)
		return;
	dovewarden_add_flags(sink, "flags", flags);
	dovewarden_add_keywords(sink, "keywords", keywords);
	dovewarden_add_flags(sink, "old_flags", msg->old_flags);
	dovewarden_event_send(duser);
}

static void
dovewarden_message_send_simple(const struct dovewarden_message *msg,
			       struct dovewarden_user *duser,
			       const char *origin,
			       const struct dovewarden_message_box *box,
			       const char *type)
{
	if (dovewarden_message_begin(msg, duser, type, origin, box) != NULL)
		dovewarden_event_send(duser);
}

static const char *
dovewarden_message_type(const struct dovewarden_message *msg,
			const char *save_type)
{
	switch (msg->change) {
	case DOVEWARDEN_CHANGE_SAVE:
		return save_type;
	case DOVEWARDEN_CHANGE_COPY:
		return "message.copy";
	case DOVEWARDEN_CHANGE_MOVE:
		return "message.move";
	case DOVEWARDEN_CHANGE_EXPUNGE:
		return "message.expunge";
	case DOVEWARDEN_CHANGE_FLAGS:
		break;
	}
	i_unreached();
}

void dovewarden_message_send(const struct dovewarden_message *msg,
			     struct dovewarden_user *duser,
			     const char *origin,
			     const struct dovewarden_message_box *box,
			     const char *save_type)
{
	struct dovewarden_sink *sink;

	if (msg->change == DOVEWARDEN_CHANGE_FLAGS) {
		dovewarden_message_send_flags(msg, duser, origin, box,
			"flags.set", msg->flags_added, &msg->keywords_added);
		dovewarden_message_send_flags(msg, duser, origin, box,
			"flags.clear", msg->flags_removed,
			&msg->keywords_removed);
		if ((msg->flags_added & MAIL_SEEN) != 0) {
			dovewarden_message_send_simple(msg, duser, origin,
						       box, "message.read");
		}
		if ((msg->flags_added & MAIL_DELETED) != 0) {
			dovewarden_message_send_simple(msg, duser, origin,
						       box, "message.trash");
		}
		return;
	}
	sink = dovewarden_message_begin(msg, duser,
		dovewarden_message_type(msg, save_type), origin, box);
	if (sink == NULL)
		return;
	if (msg->change == DOVEWARDEN_CHANGE_EXPUNGE) {
		dovewarden_sink_add_str(sink, "reason",
			msg->autoexpunged ? "autoexpunge" : "user");
	} else {
		dovewarden_message_send_saved(msg, sink);
	}
	dovewarden_event_send(duser);
}
