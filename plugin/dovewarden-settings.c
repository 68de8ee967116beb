/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "wildcard-match.h"
#include "mail-user.h"
#include "dovewarden-compat.h"
#include "dovewarden-setting-defs.h"
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
dovewarden_msecs_parse(const char *name, const char *str,
		       unsigned int max_msecs, unsigned int *msecs_r,
		       const char **error_r)
{
	const char *error;

	if (dovewarden_parse_msecs(str, msecs_r, &error) < 0) {
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

/* an unset or empty setting is its default */
static const char *
dovewarden_value(const char *value, const char *default_value)
{
	return value == NULL || *value == '\0' ? default_value : value;
}

/* the CURVE keys: all three or none; ZeroMQ checks them */
static int
dovewarden_curve_parse(pool_t pool,
		       const struct dovewarden_setting_values *values,
		       struct dovewarden_settings *set_r, const char **error_r)
{
	const char *server = dovewarden_value(
		values->dovewarden_curve_server_key, "");
	const char *public_key = dovewarden_value(
		values->dovewarden_curve_public_key, "");
	const char *secret = dovewarden_value(
		values->dovewarden_curve_secret_key, "");
	bool any = *server != '\0' || *public_key != '\0' || *secret != '\0';

	if (any && (*server == '\0' || *public_key == '\0' ||
		    *secret == '\0')) {
		*error_r = t_strdup_printf("%s: set dovewarden_curve_server_key, "
			"dovewarden_curve_public_key and "
			"dovewarden_curve_secret_key together",
			*server == '\0' ? "dovewarden_curve_server_key" :
			*public_key == '\0' ? "dovewarden_curve_public_key" :
			"dovewarden_curve_secret_key");
		return -1;
	}
	set_r->curve_server_key = p_strdup(pool, server);
	set_r->curve_public_key = p_strdup(pool, public_key);
	set_r->curve_secret_key = p_strdup(pool, secret);
	return 0;
}

static int
dovewarden_settings_parse(pool_t pool,
			  const struct dovewarden_setting_values *values,
			  struct dovewarden_settings *set_r,
			  const char **error_r)
{
	const char *events = dovewarden_value(values->dovewarden_events,
					      DOVEWARDEN_DEFAULT_EVENTS);

	i_zero(set_r);
	set_r->endpoint = p_strdup(pool,
		dovewarden_value(values->dovewarden_endpoint,
				 DOVEWARDEN_DEFAULT_ENDPOINT));
	if (strcmp(events, "*") != 0) {
		set_r->events = (const char *const *)
			p_strsplit_spaces(pool, events, ", ");
		set_r->opens = str_array_find(set_r->events,
					      DOVEWARDEN_OPEN_EVENT);
	}
	if (dovewarden_fields_parse(dovewarden_value(values->dovewarden_fields,
			DOVEWARDEN_DEFAULT_FIELDS),
			&set_r->fields, &set_r->headers_uncached, error_r) < 0 ||
	    dovewarden_uint_parse("dovewarden_queue_limit",
			dovewarden_value(values->dovewarden_queue_limit,
					 DOVEWARDEN_DEFAULT_QUEUE_LIMIT),
			&set_r->queue_limit, error_r) < 0 ||
	    dovewarden_msecs_parse("dovewarden_linger",
			dovewarden_value(values->dovewarden_linger,
					 DOVEWARDEN_DEFAULT_LINGER),
			DOVEWARDEN_MAX_LINGER_MSECS,
			&set_r->linger_msecs, error_r) < 0 ||
	    dovewarden_msecs_parse("dovewarden_flush_interval",
			dovewarden_value(values->dovewarden_flush_interval,
					 DOVEWARDEN_DEFAULT_FLUSH_INTERVAL),
			DOVEWARDEN_MAX_FLUSH_INTERVAL_MSECS,
			&set_r->flush_interval_msecs, error_r) < 0 ||
	    dovewarden_curve_parse(pool, values, set_r, error_r) < 0)
		return -1;
	return 0;
}

#if DOVEWARDEN_SETTINGS_DECLARED
int dovewarden_settings_read(struct mail_user *user,
			     struct dovewarden_settings *set_r,
			     const char **error_r)
{
	const struct dovewarden_setting_values *values;
	int ret;

	if (settings_get(user->event, &dovewarden_setting_parser_info, 0,
			 &values, error_r) < 0)
		return -1;
	ret = dovewarden_settings_parse(user->pool, values, set_r, error_r);
	settings_free(values);
	return ret;
}
#else
int dovewarden_settings_read(struct mail_user *user,
			     struct dovewarden_settings *set_r,
			     const char **error_r)
{
	const struct dovewarden_setting_values values = {
#define DOVEWARDEN_GETENV(name) .name = mail_user_plugin_getenv(user, #name)
		DOVEWARDEN_GETENV(dovewarden_endpoint),
		DOVEWARDEN_GETENV(dovewarden_events),
		DOVEWARDEN_GETENV(dovewarden_fields),
		DOVEWARDEN_GETENV(dovewarden_queue_limit),
		DOVEWARDEN_GETENV(dovewarden_linger),
		DOVEWARDEN_GETENV(dovewarden_flush_interval),
		DOVEWARDEN_GETENV(dovewarden_curve_server_key),
		DOVEWARDEN_GETENV(dovewarden_curve_public_key),
		DOVEWARDEN_GETENV(dovewarden_curve_secret_key),
#undef DOVEWARDEN_GETENV
	};

	return dovewarden_settings_parse(user->pool, &values, set_r, error_r);
}
#endif

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
