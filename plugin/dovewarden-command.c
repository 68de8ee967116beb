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

/* the fields of an imap_command_finished that go on the wire, by the
   names they have there; Dovecot 2.4 renamed the byte counters, the wire
   keeps one name for both versions */
enum dovewarden_command_field {
	DOVEWARDEN_COMMAND_FIELD_USER,
	DOVEWARDEN_COMMAND_FIELD_SESSION,
	DOVEWARDEN_COMMAND_FIELD_CMD_ARGS,
	/* the strings sent as they are */
	DOVEWARDEN_COMMAND_FIELD_CMD_NAME,
	DOVEWARDEN_COMMAND_FIELD_CMD_TAG,
	DOVEWARDEN_COMMAND_FIELD_TAGGED_REPLY_STATE,
	DOVEWARDEN_COMMAND_FIELD_TAGGED_REPLY,
	DOVEWARDEN_COMMAND_FIELD_MAILBOX,
	DOVEWARDEN_COMMAND_FIELD_OLD_MAILBOX,
	DOVEWARDEN_COMMAND_FIELD_NEW_MAILBOX,
	/* the numbers */
	DOVEWARDEN_COMMAND_FIELD_RUNNING_USECS,
	DOVEWARDEN_COMMAND_FIELD_LOCK_WAIT_USECS,
	DOVEWARDEN_COMMAND_FIELD_NET_IN_BYTES,
	DOVEWARDEN_COMMAND_FIELD_NET_OUT_BYTES,

	DOVEWARDEN_COMMAND_FIELD_COUNT
};
#define DOVEWARDEN_COMMAND_FIRST_STR DOVEWARDEN_COMMAND_FIELD_CMD_NAME
#define DOVEWARDEN_COMMAND_FIRST_INT DOVEWARDEN_COMMAND_FIELD_RUNNING_USECS

static const struct {
	const char *event_name, *wire_name;
} dovewarden_command_fields[DOVEWARDEN_COMMAND_FIELD_COUNT] = {
	{ "user", "user" },
	{ "session", "session" },
	{ "cmd_args", "cmd_args" },
	{ "cmd_name", "cmd_name" },
	{ "cmd_tag", "cmd_tag" },
	{ "tagged_reply_state", "tagged_reply_state" },
	{ "tagged_reply", "tagged_reply" },
	{ "mailbox", "mailbox" },
	{ "old_mailbox", "old_mailbox" },
	{ "new_mailbox", "new_mailbox" },
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

/* by a field name's first byte, the fields above it may be: most names
   are ruled out without a strcmp() */
static uint32_t dovewarden_command_by_initial[256];

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

void dovewarden_command_watch(const struct dovewarden_user *duser)
{
	/* the filter makes Dovecot format every command's debug line: not
	   for users whose dovewarden_events leave the command out */
	if (!dovewarden_settings_want(&duser->set, DOVEWARDEN_COMMAND_EVENT))
		return;
	dovewarden_command_watching = TRUE;
	dovewarden_command_filter_check();
}

struct dovewarden_command_value {
	const char *str;
	intmax_t number;
	bool is_number;
};

static void
dovewarden_command_value_set(struct dovewarden_command_value *value_r,
			     const struct event *event,
			     const struct event_field *field)
{
	switch (field->value_type) {
	case EVENT_FIELD_VALUE_TYPE_STR:
		value_r->str = field->value.str;
		break;
	case EVENT_FIELD_VALUE_TYPE_INTMAX:
		value_r->number = field->value.intmax;
		value_r->is_number = TRUE;
		break;
	default:
		/* as Dovecot makes it a string */
		value_r->str = event_find_field_recursive_str(event, field->key);
		break;
	}
}

static const char *
dovewarden_command_value_str(const struct dovewarden_command_value *value)
{
	if (value->is_number)
		return t_strdup_printf("%jd", value->number);
	return value->str;
}

/* One walk up the event's parents, then the global event's, as
   event_find_field_recursive() looks: a lookup per field would walk
   them once for each. The nearest event's field wins. */
static void
dovewarden_command_find_fields(const struct event *event,
			       struct dovewarden_command_value values_r[])
{
	const struct event *const starts[] = { event, event_get_global() };
	const struct event *e;
	const struct event_field *fields;
	uint32_t missing = (1U << DOVEWARDEN_COMMAND_FIELD_COUNT) - 1;
	uint32_t candidates;
	unsigned int i, j, k, count;

	memset(values_r, 0, sizeof(*values_r) * DOVEWARDEN_COMMAND_FIELD_COUNT);
	for (i = 0; i < N_ELEMENTS(starts) && missing != 0; i++) {
		for (e = starts[i]; e != NULL && missing != 0;
		     e = event_get_parent(e)) {
			fields = event_get_fields(e, &count);
			for (j = 0; j < count; j++) {
				candidates = missing & dovewarden_command_by_initial[
					(unsigned char)fields[j].key[0]];
				for (; candidates != 0; candidates &= candidates - 1) {
					k = (unsigned int)__builtin_ctz(candidates);
					if (strcmp(fields[j].key,
						   dovewarden_command_fields[k].event_name) == 0) {
						dovewarden_command_value_set(
							&values_r[k], event,
							&fields[j]);
						missing &= ~(1U << k);
						break;
					}
				}
			}
		}
	}
}

static void
dovewarden_command_add_fields(struct dovewarden_sink *sink,
			      const struct dovewarden_user *duser,
			      const struct dovewarden_command_value values[])
{
	unsigned int i;

	for (i = DOVEWARDEN_COMMAND_FIRST_STR;
	     i < DOVEWARDEN_COMMAND_FIRST_INT; i++) {
		dovewarden_sink_add_str(sink,
			dovewarden_command_fields[i].wire_name,
			dovewarden_command_value_str(&values[i]));
	}
	for (i = DOVEWARDEN_COMMAND_FIRST_INT;
	     i < DOVEWARDEN_COMMAND_FIELD_COUNT; i++) {
		if (values[i].is_number)
			dovewarden_sink_add_int(sink,
				dovewarden_command_fields[i].wire_name,
				values[i].number);
	}
	if ((duser->set.fields & DOVEWARDEN_FIELD_CMD_ARGS) != 0) {
		dovewarden_sink_add_str(sink, "cmd_args",
			dovewarden_command_value_str(
				&values[DOVEWARDEN_COMMAND_FIELD_CMD_ARGS]));
	}
}

static void dovewarden_command_send(struct event *event)
{
	struct dovewarden_command_value values[DOVEWARDEN_COMMAND_FIELD_COUNT];
	struct dovewarden_user *duser;
	struct dovewarden_sink *sink;

	dovewarden_command_find_fields(event, values);
	duser = dovewarden_user_find(
		dovewarden_command_value_str(&values[DOVEWARDEN_COMMAND_FIELD_USER]),
		dovewarden_command_value_str(
			&values[DOVEWARDEN_COMMAND_FIELD_SESSION]));
	if (duser == NULL)
		return;
	sink = dovewarden_event_begin(duser, DOVEWARDEN_COMMAND_EVENT,
				      dovewarden_user_origin(duser, FALSE));
	if (sink != NULL) {
		dovewarden_command_add_fields(sink, duser, values);
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
	unsigned int i;

	i_zero(&dovewarden_command_by_initial);
	for (i = 0; i < DOVEWARDEN_COMMAND_FIELD_COUNT; i++) {
		dovewarden_command_by_initial[(unsigned char)
			dovewarden_command_fields[i].event_name[0]] |= 1U << i;
	}
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
