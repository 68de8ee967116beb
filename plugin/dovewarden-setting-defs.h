#ifndef DOVEWARDEN_SETTING_DEFS_H
#define DOVEWARDEN_SETTING_DEFS_H

/* The dovewarden_* settings as Dovecot 2.4's config process knows them:
   declared here, compiled into the plugin and into the settings module that
   the config process loads. All are strings, parsed by the plugin, so that
   a bad value costs that user's events and one error line, never the whole
   configuration or a login. */

#include "settings-parser.h"

struct dovewarden_setting_values {
	pool_t pool;
	const char *dovewarden_endpoint;
	const char *dovewarden_events;
	const char *dovewarden_fields;
	const char *dovewarden_queue_limit;
	const char *dovewarden_linger;
	const char *dovewarden_flush_interval;
	const char *dovewarden_curve_server_key;
	const char *dovewarden_curve_public_key;
	const char *dovewarden_curve_secret_key;
};

extern const struct setting_parser_info dovewarden_setting_parser_info;

#endif
