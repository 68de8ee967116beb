/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "net.h"
#include "ioloop.h"
#include "mail-user.h"
#include "dovewarden-event.h"
#include "dovewarden-defer.h"
#include "dovewarden-user.h"

struct dovewarden_user_module dovewarden_user_module =
	MODULE_CONTEXT_INIT(&mail_user_module_register);

/* the users of this process; usually one, more in lmtp */
static ARRAY(struct dovewarden_user *) dovewarden_users;

static bool dovewarden_service_is(const char *service,
				  const char *const *names)
{
	return service != NULL && str_array_find(names, service);
}

struct dovewarden_user *dovewarden_user_find(const char *username,
					     const char *session)
{
	struct dovewarden_user *duser, *same_name = NULL;

	if (!array_is_created(&dovewarden_users) || username == NULL)
		return NULL;
	array_foreach_elem(&dovewarden_users, duser) {
		if (strcmp(duser->user->username, username) != 0)
			continue;
		if (null_strcmp(duser->user->session_id, session) == 0)
			return duser;
		if (same_name == NULL)
			same_name = duser;
	}
	return same_name;
}

const char *dovewarden_user_origin(const struct dovewarden_user *duser,
				   bool sync_transaction)
{
	if (duser->user->dsyncing || sync_transaction)
		return "dsync";
	return duser->delivering ? "delivery" : "client";
}

static void dovewarden_user_forget(struct dovewarden_user *duser)
{
	struct dovewarden_user *const *users;
	unsigned int i, count;

	users = array_get(&dovewarden_users, &count);
	for (i = 0; i < count; i++) {
		if (users[i] == duser) {
			array_delete(&dovewarden_users, i, 1);
			return;
		}
	}
}

static void dovewarden_user_deinit(struct mail_user *user)
{
	struct dovewarden_user *duser = DOVEWARDEN_USER_CONTEXT_REQUIRE(user);

	if (duser->interactive)
		dovewarden_event_send_plain(duser, "user.logout");
	dovewarden_event_user_done(duser);
	if (duser->ioloop_ctx != NULL) {
		dovewarden_defer_detach(duser->ioloop_ctx);
		io_loop_context_unref(&duser->ioloop_ctx);
	}
	dovewarden_user_forget(duser);
	dovewarden_msgpack_free(&duser->keys);
	event_unref(&duser->event);
	duser->module_ctx.super.deinit(user);
}

static void dovewarden_user_keys(struct dovewarden_user *duser)
{
	struct dovewarden_msgpack *keys = &duser->keys;

	dovewarden_msgpack_init(keys);
	dovewarden_msgpack_begin_keys(keys);
	dovewarden_msgpack_add_str(keys, "user", duser->user->username);
	dovewarden_msgpack_add_str(keys, "session", duser->user->session_id);
	dovewarden_msgpack_add_str(keys, "ip", duser->remote_ip);
	if (duser->remote_port != 0)
		dovewarden_msgpack_add_int(keys, "port", duser->remote_port);
}

void dovewarden_user_created(struct mail_user *user)
{
	static const char *const interactive[] = { "imap", "pop3", NULL };
	static const char *const delivering[] = { "lmtp", "lda", NULL };
	static const char *const reading[] = {
		"imap", "pop3", "doveadm", NULL
	};
	struct mail_user_vfuncs *v = user->vlast;
	struct dovewarden_user *duser;
	const char *error;

	duser = p_new(user->pool, struct dovewarden_user, 1);
	duser->user = user;
	duser->event = event_create(user->event);
	event_set_append_log_prefix(duser->event, "dovewarden: ");
	if (dovewarden_settings_read(user, &duser->set, &error) < 0) {
		/* mail must keep flowing: no events for this user */
		e_error(duser->event, "%s - sending no events", error);
		event_unref(&duser->event);
		return;
	}
	/* shared mailboxes' owners and raw users are made by Dovecot, not
	   logged in: their changes count, their "sessions" do not */
	duser->interactive = !user->autocreated &&
		dovewarden_service_is(user->service, interactive);
	duser->delivering = dovewarden_service_is(user->service, delivering);
	/* not the indexer's, nor a raw message's (mail_raw_open()) */
	duser->client_reads = !user->autocreated &&
		dovewarden_service_is(user->service, reading);
	if (user->conn.remote_ip != NULL && user->conn.remote_ip->family != 0) {
		duser->remote_ip = p_strdup(user->pool,
					    net_ip2addr(user->conn.remote_ip));
		duser->remote_port = user->conn.remote_port;
	}
	dovewarden_user_keys(duser);
	if (current_ioloop != NULL)
		duser->ioloop_ctx = io_loop_get_current_context(current_ioloop);
	if (duser->ioloop_ctx != NULL) {
		io_loop_context_ref(duser->ioloop_ctx);
		dovewarden_defer_attach(duser->ioloop_ctx);
	}

	duser->module_ctx.super = *v;
	user->vlast = &duser->module_ctx.super;
	v->deinit = dovewarden_user_deinit;
	MODULE_CONTEXT_SET(user, dovewarden_user_module, duser);

	if (!array_is_created(&dovewarden_users))
		i_array_init(&dovewarden_users, 4);
	array_push_back(&dovewarden_users, &duser);
	if (duser->interactive)
		dovewarden_event_send_plain(duser, "user.login");
}

void dovewarden_users_deinit(void)
{
	if (array_is_created(&dovewarden_users))
		array_free(&dovewarden_users);
}
