#ifndef DOVEWARDEN_ZMTP_H
#define DOVEWARDEN_ZMTP_H

/* The sink of dovewarden-sink.h on the mail process's own ioloop: ZMTP
   3.0 as a PUSH peer with the NULL mechanism, no thread and no libzmq.
   An unmodified libzmq PULL peer (the daemon) takes it for a libzmq
   PUSH.

   It never blocks: the connection (ipc:// or tcp:// to an IP address) is
   made, greeted and written to from ios and timeouts on the root ioloop,
   the messages wait in a queue bounded in messages, and a lost connection
   is made again after a backoff. At the end, linger() drives the same
   steps with poll() for at most the sink's linger time. */

#include "dovewarden-sink.h"

extern const struct dovewarden_sink_api dovewarden_zmtp_sink_api;

#endif
