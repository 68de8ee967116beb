#ifndef DOVEWARDEN_USER_H
#define DOVEWARDEN_USER_H

#include "module-context.h"
#include "mail-user.h"
#include "dovewarden-settings.h"
#include "dovewarden-msgpack.h"

#define DOVEWARDEN_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, dovewarden_user_module)
#define DOVEWARDEN_USER_CONTEXT_REQUIRE(obj) \
	MODULE_CONTEXT_REQUIRE(obj, dovewarden_user_module)

struct dovewarden_user {
	union mail_user_module_context module_ctx;
	struct mail_user *user;
	struct event *event;
	struct dovewarden_settings set;
	/* the client's address and port; NULL and 0 if there is none */
	const char *remote_ip;
	in_port_t remote_port;
	/* what every event of the user carries (user, session, ip, port),
	   encoded once */
	struct dovewarden_msgpack keys;
	/* the ioloop context the user was made in, if any: the deferred
	   work runs when it is deactivated */
	struct ioloop_context *ioloop_ctx;
	/* a session of its own (imap, pop3): login and logout are events */
	bool interactive;
	/* changes are deliveries (lmtp, lda) */
	bool delivering;
	/* the messages it opens are a client's reads (imap, pop3, doveadm) */
	bool client_reads;
};

extern MODULE_CONTEXT_DEFINE(dovewarden_user_module,
			     &mail_user_module_register);

/* The dovewarden user of this process named username, preferring the one
   of session (one process may serve several sessions), or NULL. */
struct dovewarden_user *dovewarden_user_find(const char *username,
					     const char *session);
/* Returns "dsync", "delivery" or "client" for changes made by user. */
const char *dovewarden_user_origin(const struct dovewarden_user *duser,
				   bool sync_transaction);

void dovewarden_user_created(struct mail_user *user);
void dovewarden_users_deinit(void);

#endif
