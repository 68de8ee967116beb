/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "wildcard-match.h"
#include "settings-parser.h"
#include "mail-user.h"
#include "dovewarden-settings.h"

static const struct {
	const char *name;
	enum dovewarden_field field;
} dovewarden_field_names[] = {
	{ "cmd_args", DOVEWARDEN_FIELD_CMD_ARGS },
	{ "size", DOVEWARDEN_FIELD_SIZE },
	{ "vsize", DOVEWARDEN_FIELD_VSIZE },
	{ "msgid", DOVEWARDEN_FIELD_MSGID },
	{ "from", DOVEWARDEN_FIELD_FROM },
	{ "subject", DOVEWARDEN_FIELD_SUBJECT },
	{ "flags", DOVEWARDEN_FIELD_FLAGS },
};

static int
dovewarden_fields_parse(const char *str, enum dovewarden_field *fields_r,
			bool *headers_uncached_r, const char **error_r)
{
	const char *const *names = t_strsplit_spaces(str, ", ");
	unsigned int i;

	*fields_r = 0;
	*headers_uncached_r = FALSE;
	for (; *names != NULL; names++) {
		if (strcmp(*names, "none") == 0)
			continue;
		if (strcmp(*names, "headers_uncached") == 0) {
			*headers_uncached_r = TRUE;
			continue;
		}
		for (i = 0; i < N_ELEMENTS(dovewarden_field_names); i++) {
			if (strcmp(*names, dovewarden_field_names[i].name) == 0)
				break;
		}
		if (i == N_ELEMENTS(dovewarden_field_names)) {
			*error_r = t_strdup_printf(
				"dovewarden_fields: unknown field '%s'", *names);
			return -1;
		}
		*fields_r |= dovewarden_field_names[i].field;
	}
	return 0;
}

static int
dovewarden_uint_parse(const char *name, const char *str, unsigned int *num_r,
		      const char **error_r)
{
	if (str_to_uint(str, num_r) < 0 || *num_r == 0 ||
	    *num_r > DOVEWARDEN_MAX_QUEUE_LIMIT) {
		*error_r = t_strdup_printf(
			"%s: '%s' is not a number from 1 to %u",
			name, str, DOVEWARDEN_MAX_QUEUE_LIMIT);
		return -1;
	}
	return 0;
}

/* a duration such as 100ms or 2s, at most max_msecs */
static int
dovewarden_msecs_parse(struct mail_user *user, const char *name,
		       unsigned int max_msecs, unsigned int *msecs_r,
		       const char **error_r)
{
	const char *value = mail_user_plugin_getenv(user, name);
	const char *error;

	if (value == NULL || *value == '\0')
		return 0;
	if (settings_get_time_msecs(value, msecs_r, &error) < 0) {
		*error_r = t_strdup_printf("%s: %s", name, error);
		return -1;
	}
	if (*msecs_r > max_msecs) {
		*error_r = t_strdup_printf("%s: at most %u ms", name,
					   max_msecs);
		return -1;
	}
	return 0;
}

static const char *
dovewarden_getenv(struct mail_user *user, const char *name,
		  const char *default_value)
{
	const char *value = mail_user_plugin_getenv(user, name);

	return value == NULL || *value == '\0' ? default_value : value;
}

int dovewarden_settings_read(struct mail_user *user,
			     struct dovewarden_settings *set_r,
			     const char **error_r)
{
	const char *events, *limit;

	i_zero(set_r);
	set_r->endpoint = p_strdup(user->pool,
		dovewarden_getenv(user, "dovewarden_endpoint",
				  DOVEWARDEN_DEFAULT_ENDPOINT));
	events = dovewarden_getenv(user, "dovewarden_events", "*");
	if (strcmp(events, "*") != 0) {
		set_r->events = (const char *const *)
			p_strsplit_spaces(user->pool, events, ", ");
	}
	if (dovewarden_fields_parse(dovewarden_getenv(user,
			"dovewarden_fields", DOVEWARDEN_DEFAULT_FIELDS),
			&set_r->fields, &set_r->headers_uncached, error_r) < 0)
		return -1;
	set_r->queue_limit = DOVEWARDEN_DEFAULT_QUEUE_LIMIT;
	set_r->linger_msecs = DOVEWARDEN_DEFAULT_LINGER_MSECS;
	set_r->flush_interval_msecs = DOVEWARDEN_DEFAULT_FLUSH_INTERVAL_MSECS;
	limit = mail_user_plugin_getenv(user, "dovewarden_queue_limit");
	if (limit != NULL && dovewarden_uint_parse("dovewarden_queue_limit",
			limit, &set_r->queue_limit, error_r) < 0)
		return -1;
	/* a long linger or interval would hold mail processes and events */
	if (dovewarden_msecs_parse(user, "dovewarden_linger", 10000,
				   &set_r->linger_msecs, error_r) < 0 ||
	    dovewarden_msecs_parse(user, "dovewarden_flush_interval", 1000,
				   &set_r->flush_interval_msecs, error_r) < 0)
		return -1;
	return 0;
}

bool dovewarden_settings_want(const struct dovewarden_settings *set,
			      const char *type)
{
	const char *const *glob;

	if (set->events == NULL)
		return TRUE;
	for (glob = set->events; *glob != NULL; glob++) {
		if (wildcard_match(type, *glob))
			return TRUE;
	}
	return FALSE;
}
