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
static bool dovewarden_defer_idle = FALSE;
/* the attached context that is active now: it runs the work when it is
   deactivated */
static struct ioloop_context *dovewarden_defer_ctx = NULL;

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

static void dovewarden_defer_run_after_reply(void)
{
	bool was_idle = dovewarden_defer_idle;

	dovewarden_defer_idle = TRUE;
	dovewarden_defer_run();
	dovewarden_defer_idle = was_idle;
}

bool dovewarden_defer_after_reply(void)
{
	return dovewarden_defer_running && dovewarden_defer_idle;
}

static void dovewarden_defer_timeout(void *context ATTR_UNUSED)
{
	dovewarden_defer_run_after_reply();
}

static bool dovewarden_defer_ctx_runs_it(void)
{
	return dovewarden_defer_ctx != NULL &&
		dovewarden_defer_ctx ==
		io_loop_get_current_context(current_ioloop);
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
	/* work deferred by deferred work runs in the same round */
	if (dovewarden_defer_running)
		return;
	if (dovewarden_defer_to == NULL && !dovewarden_defer_ctx_runs_it()) {
		dovewarden_defer_to = timeout_add_short_to(io_loop_get_root(),
			0, dovewarden_defer_timeout, NULL);
	}
}

static void dovewarden_defer_activated(struct ioloop_context *ctx)
{
	dovewarden_defer_ctx = ctx;
}

static void dovewarden_defer_deactivated(struct ioloop_context *ctx)
{
	if (dovewarden_defer_ctx != ctx)
		return;
	dovewarden_defer_run_after_reply();
	dovewarden_defer_ctx = NULL;
}

void dovewarden_defer_attach(struct ioloop_context *ctx)
{
	/* added while ctx is active, they are first called at its next
	   activation: until then, the timeout */
	io_loop_context_add_callbacks(ctx, dovewarden_defer_activated,
				      dovewarden_defer_deactivated, ctx);
}

void dovewarden_defer_detach(struct ioloop_context *ctx)
{
	io_loop_context_remove_callbacks(ctx, dovewarden_defer_activated,
					 dovewarden_defer_deactivated, ctx);
	dovewarden_defer_deactivated(ctx);
}

void dovewarden_defer_deinit(void)
{
	dovewarden_defer_run();
	dovewarden_defer_ctx = NULL;
	if (array_is_created(&dovewarden_deferred))
		array_free(&dovewarden_deferred);
}
