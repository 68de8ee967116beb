/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "dovewarden-settings.h"
#include "dovewarden-setting-defs.h"

#undef DEF
#define DEF(name) \
	SETTING_DEFINE_STRUCT_STR(#name, name, struct dovewarden_setting_values)

static const struct setting_define dovewarden_setting_defines[] = {
	DEF(dovewarden_endpoint),
	DEF(dovewarden_events),
	DEF(dovewarden_fields),
	DEF(dovewarden_queue_limit),
	DEF(dovewarden_linger),
	DEF(dovewarden_flush_interval),
	DEF(dovewarden_curve_server_key),
	DEF(dovewarden_curve_public_key),
	DEF(dovewarden_curve_secret_key),
	SETTING_DEFINE_LIST_END
};

static const struct dovewarden_setting_values dovewarden_default_values = {
	.dovewarden_endpoint = DOVEWARDEN_DEFAULT_ENDPOINT,
	.dovewarden_events = DOVEWARDEN_DEFAULT_EVENTS,
	.dovewarden_fields = DOVEWARDEN_DEFAULT_FIELDS,
	.dovewarden_queue_limit = DOVEWARDEN_DEFAULT_QUEUE_LIMIT,
	.dovewarden_linger = DOVEWARDEN_DEFAULT_LINGER,
	.dovewarden_flush_interval = DOVEWARDEN_DEFAULT_FLUSH_INTERVAL,
	.dovewarden_curve_server_key = "",
	.dovewarden_curve_public_key = "",
	.dovewarden_curve_secret_key = "",
};

const struct setting_parser_info dovewarden_setting_parser_info = {
	.name = "dovewarden",
	.plugin_dependency = "lib90_dovewarden_plugin",

	.defines = dovewarden_setting_defines,
	.defaults = &dovewarden_default_values,

	.struct_size = sizeof(struct dovewarden_setting_values),
	.pool_offset1 = 1 + offsetof(struct dovewarden_setting_values, pool),
};
