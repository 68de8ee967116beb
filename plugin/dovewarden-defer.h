#ifndef DOVEWARDEN_DEFER_H
#define DOVEWARDEN_DEFER_H

typedef void dovewarden_defer_callback_t(void *context);

/* Call callback(context) once the I/O handler or timeout that runs now
   has returned: after the client's reply has gone out, so that encoding
   events costs the client no time. Deferred work runs in the order it was
   deferred, and before any event sent directly (dovewarden_event_begin()
   runs it first). Outside the root ioloop, or with too much waiting, it
   runs at once. */
void dovewarden_defer(dovewarden_defer_callback_t *callback, void *context);
/* Run all deferred work now. */
void dovewarden_defer_run(void);
/* TRUE while deferred work runs because the handler that ran a command has
   returned (its reply has gone out), not because an event came first. */
bool dovewarden_defer_after_reply(void);

/* Run deferred work when ctx, a mail user's ioloop context, is deactivated:
   right after the I/O handler that ran the command. Else a timeout of the
   plugin's own is run in that context, which activates it once more. */
void dovewarden_defer_attach(struct ioloop_context *ctx);
void dovewarden_defer_detach(struct ioloop_context *ctx);

void dovewarden_defer_deinit(void);

#endif
