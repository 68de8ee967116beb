#ifndef DOVEWARDEN_MSGPACK_H
#define DOVEWARDEN_MSGPACK_H

/* The plugin's side of wire format v1 (docs/wire-format.md): one msgpack
   map per event, "v" and "type" first. Its bytes are those of the
   daemon's encoder (shared/wire.hpp), which the unit tests compare.

   Plain C on the C library alone, so that the unit tests, the fuzzers
   and the benchmarks build it without Dovecot. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dovewarden_msgpack {
	unsigned char *data; /* malloc()ed, grown as needed */
	size_t used, size;
	uint32_t count; /* keys in the open map */
	/* out of memory: the event is not sent */
	bool failed;
};

void dovewarden_msgpack_init(struct dovewarden_msgpack *mp);
void dovewarden_msgpack_free(struct dovewarden_msgpack *mp);

/* Start an event of type, discarding any unfinished one. */
void dovewarden_msgpack_begin(struct dovewarden_msgpack *mp, const char *type);
void dovewarden_msgpack_add_str(struct dovewarden_msgpack *mp,
				const char *key, const char *value);
void dovewarden_msgpack_add_int(struct dovewarden_msgpack *mp,
				const char *key, int64_t value);
void dovewarden_msgpack_add_uint(struct dovewarden_msgpack *mp,
				 const char *key, uint64_t value);
void dovewarden_msgpack_add_strv(struct dovewarden_msgpack *mp,
				 const char *key, const char *const *values,
				 unsigned int count);
/* Start keys and values that are not an event but are added to many
   (dovewarden_msgpack_add_encoded()): what every event of a process
   carries, encoded once. */
void dovewarden_msgpack_begin_keys(struct dovewarden_msgpack *mp);
void dovewarden_msgpack_add_encoded(struct dovewarden_msgpack *mp,
				    const struct dovewarden_msgpack *keys);
/* The encoded event, valid until the next begin(). Returns false when
   building it failed (no memory). */
bool dovewarden_msgpack_finish(struct dovewarden_msgpack *mp,
			       const unsigned char **data_r, size_t *size_r);

#ifdef __cplusplus
}
#endif

#endif
