/* Copyright (c) dovewarden authors, see the included COPYING file */

/* dladdr() */
#define _GNU_SOURCE
#include "lib.h"
#include "dovewarden-sink.h"
#include "dovewarden-zmtp.h"

#include <dlfcn.h>

/* The sink behind dovewarden-sink.h: the plugin's own, on the ioloop,
   unless CURVE keys are set. libzmq's CURVE stays in the sink module,
   which only then is loaded, with libzmq and libstdc++. */

/* the implementation of the process's sink */
static const struct dovewarden_sink_api *dovewarden_sink_api = NULL;
/* the module, loaded once per process and never unloaded: a sink may
   outlive the plugin's own deinit (a forked child leaks its parent's),
   and loading it again would cost what leaving it out is for */
static const struct dovewarden_sink_api *dovewarden_sink_module = NULL;

static const struct dovewarden_sink_api *
dovewarden_sink_module_load(const char **error_r)
{
	static char error[512];
	const struct dovewarden_sink_api *api;
	const char *dir, *slash;
	Dl_info info;
	void *handle;
	char *path;

	if (dovewarden_sink_module != NULL)
		return dovewarden_sink_module;
	if (dladdr((const void *)dovewarden_sink_module_load, &info) == 0 ||
	    info.dli_fname == NULL ||
	    (slash = strrchr(info.dli_fname, '/')) == NULL) {
		*error_r = "cannot find the plugin's own directory (dladdr)";
		return NULL;
	}
	dir = t_strdup_until(info.dli_fname, slash);
	path = i_strconcat(dir, "/", DOVEWARDEN_SINK_MODULE, NULL);
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		i_snprintf(error, sizeof(error), "dlopen(%s) failed: %s",
			   path, dlerror());
		i_free(path);
		*error_r = error;
		return NULL;
	}
	api = dlsym(handle, DOVEWARDEN_SINK_API_SYMBOL);
	if (api == NULL || api->version != DOVEWARDEN_SINK_API_VERSION) {
		i_snprintf(error, sizeof(error), "%s is not this plugin's "
			   "sink module (%s %s)", path,
			   DOVEWARDEN_SINK_API_SYMBOL,
			   api == NULL ? "missing" : "of another version");
		i_free(path);
		(void)dlclose(handle);
		*error_r = error;
		return NULL;
	}
	i_free(path);
	dovewarden_sink_module = api;
	return api;
}

struct dovewarden_sink *
dovewarden_sink_create(const struct dovewarden_sink_settings *set,
		       const char **warning_r, const char **error_r)
{
	const struct dovewarden_sink_api *api = &dovewarden_zmtp_sink_api;

	*warning_r = NULL;
	if (set->curve_server_key != NULL && *set->curve_server_key != '\0' &&
	    (api = dovewarden_sink_module_load(error_r)) == NULL)
		return NULL;
	/* a process has one sink at a time */
	dovewarden_sink_api = api;
	return api->create(set, warning_r, error_r);
}

/* every other function takes a sink, made by the api of the last create */

void dovewarden_sink_destroy(struct dovewarden_sink **sink)
{
	dovewarden_sink_api->destroy(sink);
}

void dovewarden_sink_begin(struct dovewarden_sink *sink, const char *type)
{
	dovewarden_sink_api->begin(sink, type);
}

void dovewarden_sink_add_str(struct dovewarden_sink *sink, const char *key,
			     const char *value)
{
	dovewarden_sink_api->add_str(sink, key, value);
}

void dovewarden_sink_add_int(struct dovewarden_sink *sink, const char *key,
			     int64_t value)
{
	dovewarden_sink_api->add_int(sink, key, value);
}

void dovewarden_sink_add_strv(struct dovewarden_sink *sink, const char *key,
			      const char *const *values, unsigned int count)
{
	dovewarden_sink_api->add_strv(sink, key, values, count);
}

void dovewarden_sink_add_encoded(struct dovewarden_sink *sink,
				 const struct dovewarden_msgpack *keys)
{
	dovewarden_sink_api->add_encoded(sink, keys);
}

void dovewarden_sink_queue(struct dovewarden_sink *sink)
{
	dovewarden_sink_api->queue(sink);
}

void dovewarden_sink_flush(struct dovewarden_sink *sink)
{
	dovewarden_sink_api->flush(sink);
}

void dovewarden_sink_linger(struct dovewarden_sink *sink)
{
	dovewarden_sink_api->linger(sink);
}

unsigned int dovewarden_sink_batched(const struct dovewarden_sink *sink)
{
	return dovewarden_sink_api->batched(sink);
}

uint64_t dovewarden_sink_dropped(const struct dovewarden_sink *sink)
{
	return dovewarden_sink_api->dropped(sink);
}

int dovewarden_sink_is_foreign(const struct dovewarden_sink *sink)
{
	return dovewarden_sink_api->is_foreign(sink);
}
