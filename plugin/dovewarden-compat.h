#ifndef DOVEWARDEN_COMPAT_H
#define DOVEWARDEN_COMPAT_H

/* The few Dovecot APIs that changed between 2.3 and 2.4, under one name
   each. Everything else the plugin uses is the same in both. */

#include "event-filter.h"

/* clang-format would flatten the indented directives and spread
   STMT_START ... STMT_END over six lines */
/* clang-format off */
#if DOVECOT_PREREQ(2, 4, 0)
#  include "settings.h"
#  include "str-parse.h"
#  define DOVEWARDEN_SETTINGS_DECLARED 1
#  define dovewarden_parse_msecs(str, msecs_r, error_r) \
	str_parse_get_interval_msecs(str, msecs_r, error_r)
#  define dovewarden_event_filter_merge(dest, src) \
	event_filter_merge(dest, src, EVENT_FILTER_MERGE_OP_OR)
#  define dovewarden_notify_unregister(ctxp) notify_unregister(ctxp)
#else
#  include "settings-parser.h"
#  define DOVEWARDEN_SETTINGS_DECLARED 0
#  define dovewarden_parse_msecs(str, msecs_r, error_r) \
	settings_get_time_msecs(str, msecs_r, error_r)
#  define dovewarden_event_filter_merge(dest, src) \
	event_filter_merge(dest, src)
#  define dovewarden_notify_unregister(ctxp) \
	STMT_START { notify_unregister(*(ctxp)); *(ctxp) = NULL; } STMT_END
#endif
/* clang-format on */

#endif
