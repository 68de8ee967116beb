/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "ioloop.h"
#include "time-util.h"
#include "hostpid.h"
#include "mail-user.h"
#include "dovewarden-sink.h"
#include "dovewarden-user.h"
#include "dovewarden-defer.h"
#include "dovewarden-event.h"

#define DOVEWARDEN_DROP_LOG_INTERVAL_SECS 60

/* one socket per process, made when the first event is sent */
static struct dovewarden_sink *dovewarden_sink = NULL;
static bool dovewarden_sink_failed = FALSE;
/* the settings the socket was made with: the first user's */
static char *dovewarden_sink_endpoint = NULL;
static unsigned int dovewarden_sink_queue_limit = 0;
static time_t dovewarden_drop_logged_at = 0;
static uint64_t dovewarden_drops_logged = 0;
/* the batch waits at most dovewarden_flush_interval */
static struct timeout *dovewarden_flush_to = NULL;
/* when the last batch went, and since when the open one waits */
static struct timeval dovewarden_flushed_at;
static struct timeval dovewarden_waiting_since;
static bool dovewarden_flush_check_deferred = FALSE;

static void dovewarden_event_flush(struct dovewarden_user *duser);

static struct dovewarden_sink *
dovewarden_sink_get(struct dovewarden_user *duser)
{
	struct dovewarden_sink_settings set;
	const char *warning, *error;

	if (dovewarden_sink != NULL &&
	    dovewarden_sink_is_foreign(dovewarden_sink)) {
		dovewarden_sink_destroy(&dovewarden_sink);
		/* the new sink counts its drops from 0 */
		dovewarden_drops_logged = 0;
	}
	if (dovewarden_sink != NULL || dovewarden_sink_failed)
		return dovewarden_sink;

	i_zero(&set);
	set.endpoint = duser->set.endpoint;
	set.host = my_hostname;
	set.service = duser->user->service;
	set.queue_limit = duser->set.queue_limit;
	set.linger_msecs = duser->set.linger_msecs;
	set.curve_server_key = duser->set.curve_server_key;
	set.curve_public_key = duser->set.curve_public_key;
	set.curve_secret_key = duser->set.curve_secret_key;
	dovewarden_sink = dovewarden_sink_create(&set, &warning, &error);
	i_free(dovewarden_sink_endpoint);
	dovewarden_sink_endpoint = i_strdup(set.endpoint);
	dovewarden_sink_queue_limit = set.queue_limit;
	if (dovewarden_sink == NULL) {
		e_error(duser->event, "%s", error);
		dovewarden_sink_failed = TRUE;
	} else if (warning != NULL) {
		e_error(duser->event, "%s", warning);
	}
	return dovewarden_sink;
}

struct dovewarden_sink *
dovewarden_event_begin(struct dovewarden_user *duser, const char *type,
		       const char *origin)
{
	struct dovewarden_sink *sink;

	/* what was deferred goes first: the events keep their order */
	dovewarden_defer_run();
	if (!dovewarden_settings_want(&duser->set, type))
		return NULL;
	if ((sink = dovewarden_sink_get(duser)) == NULL)
		return NULL;
	/* dovewarden_flush_interval=0: the change before goes on its own,
	   also when this one came before the ioloop did (pipelined
	   commands) */
	if (dovewarden_flush_to != NULL &&
	    duser->set.flush_interval_msecs == 0)
		dovewarden_event_flush(duser);
	dovewarden_sink_begin(sink, type);
	dovewarden_sink_add_encoded(sink, &duser->keys);
	dovewarden_sink_add_str(sink, "origin", origin);
	return sink;
}

/* event NULL: the process is ending, log without a user's prefix */
static void dovewarden_drops_log(struct event *event)
{
	uint64_t dropped = dovewarden_sink_dropped(dovewarden_sink);
	const char *msg;

	if (dropped == dovewarden_drops_logged)
		return;
	msg = t_strdup_printf("dropped %"PRIu64" event(s) since the last "
		"report: queue to %s full or daemon absent "
		"(dovewarden_queue_limit=%u)",
		dropped - dovewarden_drops_logged,
		dovewarden_sink_endpoint, dovewarden_sink_queue_limit);
	if (event != NULL)
		e_warning(event, "%s", msg);
	else
		i_warning("dovewarden: %s", msg);
	dovewarden_drops_logged = dropped;
	dovewarden_drop_logged_at = ioloop_time;
}

static void dovewarden_drops_log_throttled(struct dovewarden_user *duser)
{
	if (ioloop_time - dovewarden_drop_logged_at >=
	    DOVEWARDEN_DROP_LOG_INTERVAL_SECS)
		dovewarden_drops_log(duser->event);
}

void dovewarden_event_send(struct dovewarden_user *duser ATTR_UNUSED)
{
	dovewarden_sink_queue(dovewarden_sink);
}

static void dovewarden_event_flush(struct dovewarden_user *duser)
{
	timeout_remove(&dovewarden_flush_to);
	if (dovewarden_sink == NULL)
		return;
	dovewarden_flushed_at = ioloop_timeval;
	dovewarden_sink_flush(dovewarden_sink);
	dovewarden_drops_log_throttled(duser);
}

static bool dovewarden_waited(const struct timeval *since, unsigned int msecs)
{
	return since->tv_sec == 0 ||
		timeval_diff_msecs(&ioloop_timeval, since) >= (long long)msecs;
}

/* Deferred after the events of this round: they have all joined the
   batch. */
static void dovewarden_event_flush_due(void *context)
{
	struct dovewarden_user *duser = context;
	unsigned int interval = duser->set.flush_interval_msecs;

	dovewarden_flush_check_deferred = FALSE;
	if (dovewarden_flush_to == NULL)
		return;
	/* the process was quiet, or the batch has waited long enough: it
	   goes now, in the wake-up that ran the command, not in one of the
	   timeout's own */
	if (dovewarden_waited(&dovewarden_flushed_at, interval) ||
	    dovewarden_waited(&dovewarden_waiting_since, interval / 2))
		dovewarden_event_flush(duser);
}

void dovewarden_event_end(struct dovewarden_user *duser)
{
	if (dovewarden_sink == NULL ||
	    dovewarden_sink_batched(dovewarden_sink) == 0)
		return;
	if (current_ioloop == NULL) {
		dovewarden_event_flush(duser);
		return;
	}
	/* a write is most of what an event costs: let the events of the
	   next commands join this batch, and never send before the client's
	   reply has gone out */
	if (dovewarden_flush_to == NULL) {
		dovewarden_waiting_since = ioloop_timeval;
		dovewarden_flush_to = timeout_add_short_to(io_loop_get_root(),
			duser->set.flush_interval_msecs,
			dovewarden_event_flush, duser);
	}
	if (dovewarden_defer_after_reply() &&
	    !dovewarden_flush_check_deferred) {
		dovewarden_flush_check_deferred = TRUE;
		dovewarden_defer(dovewarden_event_flush_due, duser);
	}
}

void dovewarden_event_send_plain(struct dovewarden_user *duser,
				 const char *type)
{
	const char *origin = dovewarden_user_origin(duser, FALSE);

	if (dovewarden_event_begin(duser, type, origin) != NULL)
		dovewarden_event_send(duser);
	dovewarden_event_end(duser);
}

void dovewarden_event_user_done(struct dovewarden_user *duser)
{
	/* the sink is the process's: this flushes other users' events too */
	dovewarden_defer_run();
	dovewarden_event_flush(duser);
}

void dovewarden_event_deinit(void)
{
	dovewarden_defer_deinit();
	timeout_remove(&dovewarden_flush_to);
	i_zero(&dovewarden_flushed_at);
	dovewarden_flush_check_deferred = FALSE;
	if (dovewarden_sink != NULL) {
		/* what is still queued after dovewarden_linger is reported */
		dovewarden_sink_linger(dovewarden_sink);
		dovewarden_drops_log(NULL);
		dovewarden_sink_destroy(&dovewarden_sink);
	}
	i_free(dovewarden_sink_endpoint);
	/* the plugin stays loaded (nodelete) and may be initialised again */
	dovewarden_sink_failed = FALSE;
	dovewarden_drops_logged = 0;
	dovewarden_drop_logged_at = 0;
}
