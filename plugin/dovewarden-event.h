#ifndef DOVEWARDEN_EVENT_H
#define DOVEWARDEN_EVENT_H

#include <stdint.h>

struct dovewarden_user;
struct dovewarden_sink;

/* Start a message of type for duser, with the common fields (user,
   session, ip, port, origin). Returns the sink to add the event's own
   fields to, or NULL if duser does not want this type or no socket
   exists. */
struct dovewarden_sink *
dovewarden_event_begin(struct dovewarden_user *duser, const char *type,
		       const char *origin);
/* Add the message to the batch being built. */
void dovewarden_event_send(struct dovewarden_user *duser);
/* The events of one change are complete: send the batch without blocking
   within dovewarden_flush_interval (the ioloop's next round if 0), so that
   what several commands or transactions produce travels together. Once
   the reply has gone out, it goes at once if nothing was sent for an
   interval or it has waited half of one: an idle process sends at once,
   a busy one about twice an interval, neither with a wake-up of its own.
   Drops are counted and logged at most once a minute. */
void dovewarden_event_end(struct dovewarden_user *duser);
/* Send an event that has only the common fields, as a change of its own. */
void dovewarden_event_send_plain(struct dovewarden_user *duser,
				 const char *type);

/* duser is going away: send what is queued, report what could not be. */
void dovewarden_event_user_done(struct dovewarden_user *duser);
void dovewarden_event_deinit(void);

#endif
