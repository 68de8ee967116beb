#ifndef DOVEWARDEN_SETTINGS_H
#define DOVEWARDEN_SETTINGS_H

struct mail_user;

/* each setting's default, as an operator would write it */
#define DOVEWARDEN_DEFAULT_ENDPOINT "ipc:///run/dovewarden/events.sock"
#define DOVEWARDEN_DEFAULT_EVENTS "*"
#define DOVEWARDEN_DEFAULT_FIELDS "size"
#define DOVEWARDEN_DEFAULT_QUEUE_LIMIT "1000"
#define DOVEWARDEN_DEFAULT_LINGER "100ms"
#define DOVEWARDEN_DEFAULT_FLUSH_INTERVAL "20ms"

/* the event of each message a client opened */
#define DOVEWARDEN_OPEN_EVENT "message.open"

#define DOVEWARDEN_MAX_QUEUE_LIMIT 1000000
/* a long linger or interval would hold mail processes and events */
#define DOVEWARDEN_MAX_LINGER_MSECS 10000
#define DOVEWARDEN_MAX_FLUSH_INTERVAL_MSECS 1000

/* optional fields named in dovewarden_fields */
enum dovewarden_field {
	DOVEWARDEN_FIELD_CMD_ARGS	= 0x01,
	DOVEWARDEN_FIELD_SIZE		= 0x02,
	DOVEWARDEN_FIELD_VSIZE		= 0x04,
	DOVEWARDEN_FIELD_MSGID		= 0x08,
	DOVEWARDEN_FIELD_FROM		= 0x10,
	DOVEWARDEN_FIELD_SUBJECT	= 0x20,
	DOVEWARDEN_FIELD_FLAGS		= 0x40,
};
#define DOVEWARDEN_HEADER_FIELDS \
	(DOVEWARDEN_FIELD_MSGID | DOVEWARDEN_FIELD_FROM | \
	 DOVEWARDEN_FIELD_SUBJECT)

struct dovewarden_settings {
	const char *endpoint;
	/* event type globs; NULL sends every type */
	const char *const *events;
	/* message.open is sent only when events names it: no glob selects
	   it, for a client's every read is one */
	bool opens;
	enum dovewarden_field fields;
	unsigned int queue_limit;
	unsigned int linger_msecs;
	/* how long events may wait to share one ZeroMQ message */
	unsigned int flush_interval_msecs;
	/* read headers even when not cached (costs I/O in the mail process) */
	bool headers_uncached;
	/* CURVE keys (hex or Z85), all three or none: the daemon's public key and
	   this plugin's key pair */
	const char *curve_server_key;
	const char *curve_public_key;
	const char *curve_secret_key;
};

/* Read the dovewarden_* settings of user: plugin { } on Dovecot 2.3, the
   declared settings on 2.4. Returns 0, or -1 with
   *error_r naming the bad setting. */
int dovewarden_settings_read(struct mail_user *user,
			     struct dovewarden_settings *set_r,
			     const char **error_r);
/* Returns TRUE if set selects events of this type. */
bool dovewarden_settings_want(const struct dovewarden_settings *set,
			      const char *type);

#endif
