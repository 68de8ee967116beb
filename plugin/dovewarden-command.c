/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "lib-event-private.h"
#include "event-filter.h"
#include "dovewarden-compat.h"
#include "dovewarden-user.h"
#include "dovewarden-event.h"
#include "dovewarden-defer.h"
#include "dovewarden-sink.h"
#include "dovewarden-command.h"

#define DOVEWARDEN_COMMAND_EVENT "imap_command_finished"

static const char *const dovewarden_command_str_fields[] = {
	"cmd_name", "cmd_tag", "tagged_reply_state", "tagged_reply",
	"mailbox", "old_mailbox", "new_mailbox", NULL
};
/* the event's field name, and the one it has on the wire: Dovecot 2.4
   renamed the byte counters, the wire keeps one name for both versions */
static const struct {
	const char *event_name, *wire_name;
} dovewarden_command_int_fields[] = {
	{ "running_usecs", "running_usecs" },
	{ "lock_wait_usecs", "lock_wait_usecs" },
#if DOVECOT_PREREQ(2, 4, 0)
	{ "net_in_bytes", "net_in_bytes" },
	{ "net_out_bytes", "net_out_bytes" },
#else
	{ "bytes_in", "net_in_bytes" },
	{ "bytes_out", "net_out_bytes" },
#endif
};

static bool dovewarden_command_watching = FALSE;
/* the global debug send filter we installed, and the one it extends */
static struct event_filter *dovewarden_filter = NULL;
static struct event_filter *dovewarden_filter_base = NULL;

void dovewarden_command_filter_check(void)
{
	struct event_filter *current = event_get_global_debug_send_filter();
	struct event_filter *filter;
	const char *error;

	if (!dovewarden_command_watching || current == dovewarden_filter)
		return;
	/* stats' own filter stays untouched: it decides what stats gets */
	filter = event_filter_create();
	if (current != NULL)
		dovewarden_event_filter_merge(filter, current);
	if (event_filter_parse("event="DOVEWARDEN_COMMAND_EVENT,
			       filter, &error) < 0)
		i_panic("dovewarden: event_filter_parse() failed: %s", error);
	event_set_global_debug_send_filter(filter);

	event_filter_unref(&dovewarden_filter);
	event_filter_unref(&dovewarden_filter_base);
	dovewarden_filter = filter;
	dovewarden_filter_base = current;
	if (current != NULL)
		event_filter_ref(current);
}

void dovewarden_command_watch(void)
{
	dovewarden_command_watching = TRUE;
	dovewarden_command_filter_check();
}

static void dovewarden_command_add_fields(struct dovewarden_sink *sink,
					  struct event *event,
					  const struct dovewarden_user *duser)
{
	const struct event_field *field;
	const char *const *key;
	unsigned int i;

	for (key = dovewarden_command_str_fields; *key != NULL; key++) {
		dovewarden_sink_add_str(sink, *key,
			event_find_field_recursive_str(event, *key));
	}
	for (i = 0; i < N_ELEMENTS(dovewarden_command_int_fields); i++) {
		field = event_find_field_recursive(event,
			dovewarden_command_int_fields[i].event_name);
		if (field != NULL &&
		    field->value_type == EVENT_FIELD_VALUE_TYPE_INTMAX)
			dovewarden_sink_add_int(sink,
				dovewarden_command_int_fields[i].wire_name,
				field->value.intmax);
	}
	if ((duser->set.fields & DOVEWARDEN_FIELD_CMD_ARGS) != 0) {
		dovewarden_sink_add_str(sink, "cmd_args",
			event_find_field_recursive_str(event, "cmd_args"));
	}
}

static void dovewarden_command_send(struct event *event)
{
	struct dovewarden_user *duser;
	struct dovewarden_sink *sink;

	duser = dovewarden_user_find(
		event_find_field_recursive_str(event, "user"),
		event_find_field_recursive_str(event, "session"));
	if (duser == NULL)
		return;
	sink = dovewarden_event_begin(duser, DOVEWARDEN_COMMAND_EVENT,
				      dovewarden_user_origin(duser, FALSE));
	if (sink != NULL) {
		dovewarden_command_add_fields(sink, event, duser);
		dovewarden_event_send(duser);
	}
	dovewarden_event_end(duser);
}

static void dovewarden_command_send_deferred(void *context)
{
	struct event *event = context;

	dovewarden_command_send(event);
	event_unref(&event);
}

static bool
dovewarden_command_event(struct event *event, enum event_callback_type type,
			 struct failure_context *ctx ATTR_UNUSED,
			 const char *fmt ATTR_UNUSED, va_list args ATTR_UNUSED)
{
	if (!dovewarden_command_watching)
		return TRUE;
	/* stats may have replaced the filter since, and only events the
	   filter lets by are sent to us: put ours back as soon as any event is
	   made (a command's, say), not only when one is sent */
	dovewarden_command_filter_check();
	if (type != EVENT_CALLBACK_TYPE_SEND)
		return TRUE;
	if (event->sending_name != NULL &&
	    strcmp(event->sending_name, DOVEWARDEN_COMMAND_EVENT) == 0) {
		/* the tagged reply waits in the client's corked output */
		event_ref(event);
		dovewarden_defer(dovewarden_command_send_deferred, event);
	}
	return TRUE;
}

void dovewarden_command_init(void)
{
	event_register_callback(dovewarden_command_event);
}

void dovewarden_command_deinit(void)
{
	event_unregister_callback(dovewarden_command_event);
	if (dovewarden_filter != NULL &&
	    event_get_global_debug_send_filter() == dovewarden_filter) {
		if (dovewarden_filter_base != NULL)
			event_set_global_debug_send_filter(dovewarden_filter_base);
		else
			event_unset_global_debug_send_filter();
	}
	event_filter_unref(&dovewarden_filter);
	event_filter_unref(&dovewarden_filter_base);
	dovewarden_command_watching = FALSE;
}
