#ifndef DOVEWARDEN_MESSAGE_H
#define DOVEWARDEN_MESSAGE_H

#include "mail-types.h"

struct mail;
struct dovewarden_user;
struct dovewarden_settings;

enum dovewarden_change {
	DOVEWARDEN_CHANGE_SAVE,
	DOVEWARDEN_CHANGE_COPY,
	DOVEWARDEN_CHANGE_MOVE,
	DOVEWARDEN_CHANGE_EXPUNGE,
	DOVEWARDEN_CHANGE_FLAGS,
};

/* one message's change within a transaction, kept until commit */
struct dovewarden_message {
	enum dovewarden_change change;
	uint32_t uid, uidvalidity;

	const char *src_mailbox;
	uint32_t src_uid;
	bool autoexpunged;

	enum mail_flags old_flags, flags_added, flags_removed;
	ARRAY_TYPE(const_string) keywords_added, keywords_removed;

	/* the optional dovewarden_fields of a saved message; msgid, from the
	   index cache, of the others too */
	const char *msgid, *from, *subject;
	uoff_t size, vsize;
	bool have_size, have_vsize;
	enum mail_flags flags;
	const char *const *keywords;
};

/* the mailbox of a transaction's messages */
struct dovewarden_message_box {
	const char *name;
	/* its GUID, or NULL if it cannot be had cheaply */
	const char *guid;
};

/* Returns TRUE if msg gets a new UID when its transaction commits. */
bool dovewarden_message_is_saved(const struct dovewarden_message *msg);
/* Read the configured optional fields of a message being saved. */
void dovewarden_message_read_fields(struct dovewarden_message *msg,
				    pool_t pool,
				    const struct dovewarden_settings *set,
				    struct mail *mail);
/* The first header name of mail from Dovecot's index cache, or NULL:
   never reads the message (which may be being opened). The value lasts
   while mail stays on this message. */
const char *dovewarden_message_cached_header(struct mail *mail,
					     const char *name);
/* Record which keywords were added and removed. */
void dovewarden_message_keywords_diff(struct dovewarden_message *msg,
				      pool_t pool,
				      const char *const *old_keywords,
				      const char *const *new_keywords);
/* Start an event of type about msg in box: the common fields, then
   mailbox, mailbox_guid, uid, uidvalidity and msgid. Returns NULL if duser
   does not want it. */
struct dovewarden_sink *
dovewarden_message_begin(const struct dovewarden_message *msg,
			 struct dovewarden_user *duser, const char *type,
			 const char *origin,
			 const struct dovewarden_message_box *box);
/* Send the events msg stands for. */
void dovewarden_message_send(const struct dovewarden_message *msg,
			     struct dovewarden_user *duser,
			     const char *origin,
			     const struct dovewarden_message_box *box,
			     const char *save_type);

#endif
