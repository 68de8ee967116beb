/* Copyright (c) dovewarden authors, see the included COPYING file */

/* Dovecot 2.4's config process loads this from its settings module
   directory, so that dovewarden_* lines are known settings. It finds the
   two symbols by the module's name, dovewarden_settings. */

#include "lib.h"
#include "dovewarden-plugin.h"
#include "dovewarden-setting-defs.h"

extern DOVEWARDEN_EXPORT const char *dovewarden_settings_version;
extern DOVEWARDEN_EXPORT const struct setting_parser_info *
	dovewarden_settings_set_infos[];

const char *dovewarden_settings_version = DOVECOT_ABI_VERSION;
const struct setting_parser_info *dovewarden_settings_set_infos[] = {
	&dovewarden_setting_parser_info,
	NULL
};
