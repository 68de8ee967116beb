#ifndef DOVEWARDEN_EVENT_H
#define DOVEWARDEN_EVENT_H

#include <stdint.h>

struct dovewarden_user;
struct dovewarden_sink;

/* Start a message of type for duser, with the common fields (user,
   session, ip, origin). Returns the sink to add the event's own fields
   to, or NULL if duser does not want this type or no socket exists. */
struct dovewarden_sink *
dovewarden_event_begin(struct dovewarden_user *duser, const char *type,
		       const char *origin);
/* Queue the message without blocking; a drop is counted and logged at
   most once a minute. */
void dovewarden_event_send(struct dovewarden_user *duser);
/* Send an event that has only the common fields. */
void dovewarden_event_send_plain(struct dovewarden_user *duser,
				 const char *type);

/* duser is going away: report what it could not send. */
void dovewarden_event_user_done(struct dovewarden_user *duser);
void dovewarden_event_deinit(void);

#endif
