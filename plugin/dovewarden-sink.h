#ifndef DOVEWARDEN_SINK_H
#define DOVEWARDEN_SINK_H

/* The sink: what encodes a process's events and sends them to the daemon
   as ZeroMQ messages, one per process. Two implement it, behind the same
   functions (dovewarden-sink-loader.c picks one at create):

   - the plugin's own (dovewarden-zmtp.h): ZMTP on the mail process's
     ioloop, no thread, no library beyond Dovecot's;
   - for CURVE only, the C++ core in a module of its own,
     DOVEWARDEN_SINK_MODULE: a libzmq PUSH socket and the wire encoder of
     shared/wire.hpp. The plugin loads it (and with it libzmq and
     libstdc++) when a process creates its first sink with CURVE keys. */

#include <stdint.h>
#include "dovewarden-msgpack.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dovewarden_sink;

#define DOVEWARDEN_SINK_MAX_BATCH 32

struct dovewarden_sink_settings {
	const char *endpoint;
	const char *host;
	const char *service;
	unsigned int queue_limit;
	unsigned int linger_msecs;
	/* CURVE (keys in hex or Z85): the daemon's public key and this plugin's key
	   pair; NULL or "" for none */
	const char *curve_server_key;
	const char *curve_public_key;
	const char *curve_secret_key;
};

/* Create the socket and connect it. Returns NULL and sets *error_r if
   ZeroMQ failed. A connected sink may still set *warning_r, e.g. when
   the ipc socket exists but this uid may not write to it. */
struct dovewarden_sink *
dovewarden_sink_create(const struct dovewarden_sink_settings *set,
		       const char **warning_r, const char **error_r);
/* Close the socket and free the sink (libzmq's waits at most
   linger_msecs for queued messages). */
void dovewarden_sink_destroy(struct dovewarden_sink **sink);

/* Build one message: begin() adds the common keys (v, type, ts, host,
   svc, pid, inst, seq), the add_*() calls the event's own. */
void dovewarden_sink_begin(struct dovewarden_sink *sink, const char *type);
void dovewarden_sink_add_str(struct dovewarden_sink *sink,
			     const char *key, const char *value);
void dovewarden_sink_add_int(struct dovewarden_sink *sink,
			     const char *key, int64_t value);
void dovewarden_sink_add_strv(struct dovewarden_sink *sink, const char *key,
			      const char *const *values, unsigned int count);
/* Add keys and values encoded once (dovewarden_msgpack_begin_keys()),
   such as a user's; an encoding that failed drops the message. */
void dovewarden_sink_add_encoded(struct dovewarden_sink *sink,
				 const struct dovewarden_msgpack *keys);
/* Add the message to the open batch. The events of one IMAP command or
   one transaction travel as one multipart ZeroMQ message: it wakes
   ZeroMQ's I/O thread once, not once per event. A batch that reaches
   DOVEWARDEN_SINK_MAX_BATCH messages is flushed at once. */
void dovewarden_sink_queue(struct dovewarden_sink *sink);
/* Hand the open batch to ZeroMQ without blocking. A full queue drops it
   (counted, see dovewarden_sink_dropped()). */
void dovewarden_sink_flush(struct dovewarden_sink *sink);

/* The process ends: flush, then hand over what is queued within
   linger_msecs; the plugin's own sink drops and counts what is left. */
void dovewarden_sink_linger(struct dovewarden_sink *sink);

/* Messages queued in the open batch. */
unsigned int dovewarden_sink_batched(const struct dovewarden_sink *sink);
/* Messages dropped since the sink was created. */
uint64_t dovewarden_sink_dropped(const struct dovewarden_sink *sink);
/* Whether this process forked since the sink was created: the child must
   not use the parent's connection (nor ZeroMQ's context). */
int dovewarden_sink_is_foreign(const struct dovewarden_sink *sink);

/* The sink module, relative to the plugin's own directory, and the one
   symbol it exports: the functions above. */
#define DOVEWARDEN_SINK_MODULE "dovewarden/dovewarden-sink.so"
#define DOVEWARDEN_SINK_API_SYMBOL "dovewarden_sink_module_api"
#define DOVEWARDEN_SINK_API_VERSION 4

struct dovewarden_sink_api {
	unsigned int version;
	struct dovewarden_sink *(*create)(
		const struct dovewarden_sink_settings *set,
		const char **warning_r, const char **error_r);
	void (*destroy)(struct dovewarden_sink **sink);
	void (*begin)(struct dovewarden_sink *sink, const char *type);
	void (*add_str)(struct dovewarden_sink *sink, const char *key,
			const char *value);
	void (*add_int)(struct dovewarden_sink *sink, const char *key,
			int64_t value);
	void (*add_strv)(struct dovewarden_sink *sink, const char *key,
			 const char *const *values, unsigned int count);
	void (*add_encoded)(struct dovewarden_sink *sink,
			    const struct dovewarden_msgpack *keys);
	void (*queue)(struct dovewarden_sink *sink);
	void (*flush)(struct dovewarden_sink *sink);
	void (*linger)(struct dovewarden_sink *sink);
	unsigned int (*batched)(const struct dovewarden_sink *sink);
	uint64_t (*dropped)(const struct dovewarden_sink *sink);
	int (*is_foreign)(const struct dovewarden_sink *sink);
};

#ifdef __cplusplus
}
#endif

#endif
