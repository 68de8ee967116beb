#ifndef DOVEWARDEN_PLUGIN_H
#define DOVEWARDEN_PLUGIN_H

struct module;

/* built with -fvisibility=hidden: these four are all Dovecot may see */
#define DOVEWARDEN_EXPORT __attribute__((visibility("default")))

extern DOVEWARDEN_EXPORT const char *dovewarden_plugin_version;
extern DOVEWARDEN_EXPORT const char *dovewarden_plugin_dependencies[];

DOVEWARDEN_EXPORT void dovewarden_plugin_init(struct module *module);
DOVEWARDEN_EXPORT void dovewarden_plugin_deinit(void);

#endif
