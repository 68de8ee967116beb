/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "ioloop.h"
#include "dovewarden-defer.h"

/* a doveadm command's nested ioloop never lets the root one come round:
   its work must not pile up meanwhile */
#define DOVEWARDEN_DEFER_MAX 64

struct dovewarden_deferred {
	dovewarden_defer_callback_t *callback;
	void *context;
};

static ARRAY(struct dovewarden_deferred) dovewarden_deferred;
static struct timeout *dovewarden_defer_to = NULL;
static bool dovewarden_defer_running = FALSE;

void dovewarden_defer_run(void)
{
	struct dovewarden_deferred deferred;
	unsigned int i;

	/* a callback that sends runs this again: what follows it waits */
	if (dovewarden_defer_running || !array_is_created(&dovewarden_deferred))
		return;
	timeout_remove(&dovewarden_defer_to);
	dovewarden_defer_running = TRUE;
	for (i = 0; i < array_count(&dovewarden_deferred); i++) {
		deferred = *array_idx(&dovewarden_deferred, i);
		deferred.callback(deferred.context);
	}
	array_clear(&dovewarden_deferred);
	dovewarden_defer_running = FALSE;
}

static void dovewarden_defer_timeout(void *context ATTR_UNUSED)
{
	dovewarden_defer_run();
}

void dovewarden_defer(dovewarden_defer_callback_t *callback, void *context)
{
	struct dovewarden_deferred *deferred;

	if (!array_is_created(&dovewarden_deferred))
		i_array_init(&dovewarden_deferred, 8);
	if (current_ioloop == NULL || current_ioloop != io_loop_get_root() ||
	    array_count(&dovewarden_deferred) >= DOVEWARDEN_DEFER_MAX) {
		dovewarden_defer_run();
		callback(context);
		return;
	}
	deferred = array_append_space(&dovewarden_deferred);
	deferred->callback = callback;
	deferred->context = context;
	if (dovewarden_defer_to == NULL) {
		dovewarden_defer_to = timeout_add_short_to(io_loop_get_root(),
			0, dovewarden_defer_timeout, NULL);
	}
}

void dovewarden_defer_deinit(void)
{
	dovewarden_defer_run();
	if (array_is_created(&dovewarden_deferred))
		array_free(&dovewarden_deferred);
}
