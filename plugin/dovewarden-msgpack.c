/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "dovewarden-msgpack.h"

#include <stdlib.h>
#include <string.h>

#define DOVEWARDEN_WIRE_VERSION 1
/* the map's header is written last, when its size is known: keys start
   after room for the largest one (map 32) and the header goes right
   before them, as shared/wire.hpp's Encoder does it */
#define DOVEWARDEN_MSGPACK_HEADER_ROOM 5
#define DOVEWARDEN_MSGPACK_INITIAL_SIZE 512

void dovewarden_msgpack_init(struct dovewarden_msgpack *mp)
{
	memset(mp, 0, sizeof(*mp));
}

void dovewarden_msgpack_free(struct dovewarden_msgpack *mp)
{
	free(mp->data);
	memset(mp, 0, sizeof(*mp));
}

/* the slow way of dovewarden_msgpack_reserve() */
static bool
dovewarden_msgpack_grow(struct dovewarden_msgpack *mp, size_t size)
{
	unsigned char *data;
	size_t new_size;

	new_size = mp->size == 0 ? DOVEWARDEN_MSGPACK_INITIAL_SIZE : mp->size;
	while (new_size - mp->used < size) {
		if (new_size > SIZE_MAX / 2) {
			mp->failed = true;
			return false;
		}
		new_size *= 2;
	}
	data = realloc(mp->data, new_size);
	if (data == NULL) {
		mp->failed = true;
		return false;
	}
	mp->data = data;
	mp->size = new_size;
	return true;
}

/* Make room for size more bytes; false (and failed) when there is no
   memory for them. Every value asks: the room is mostly there. */
static inline bool
dovewarden_msgpack_reserve(struct dovewarden_msgpack *mp, size_t size)
{
	if (mp->failed)
		return false;
	if (size <= mp->size - mp->used)
		return true;
	return dovewarden_msgpack_grow(mp, size);
}

/* Room for size more bytes at the end, to be written and then counted in
   used; NULL when there is no memory for them. */
static inline unsigned char *
dovewarden_msgpack_room(struct dovewarden_msgpack *mp, size_t size)
{
	if (!dovewarden_msgpack_reserve(mp, size))
		return NULL;
	return mp->data + mp->used;
}

static void dovewarden_msgpack_put(struct dovewarden_msgpack *mp,
				   const void *data, size_t size)
{
	unsigned char *p = dovewarden_msgpack_room(mp, size);

	if (p == NULL)
		return;
	if (size > 0)
		memcpy(p, data, size);
	mp->used += size;
}

/* A type byte and an n-byte big-endian value: the form of every msgpack
   header and fixed-size integer. */
static inline void
dovewarden_msgpack_put_be(struct dovewarden_msgpack *mp, unsigned char type,
			  uint64_t value, unsigned int n)
{
	unsigned char *p = dovewarden_msgpack_room(mp, n + 1);
	unsigned int i;

	if (p == NULL)
		return;
	p[0] = type;
	for (i = 0; i < n; i++)
		p[n - i] = (unsigned char)(value >> (8 * i));
	mp->used += n + 1;
}

static void
dovewarden_msgpack_put_uint(struct dovewarden_msgpack *mp, uint64_t value)
{
	/* pack_uint64 of msgpack-c: the shortest form */
	if (value < 0x80)
		dovewarden_msgpack_put_be(mp, (unsigned char)value, 0, 0);
	else if (value < 0x100)
		dovewarden_msgpack_put_be(mp, 0xcc, value, 1);
	else if (value < 0x10000)
		dovewarden_msgpack_put_be(mp, 0xcd, value, 2);
	else if (value < 0x100000000ULL)
		dovewarden_msgpack_put_be(mp, 0xce, value, 4);
	else
		dovewarden_msgpack_put_be(mp, 0xcf, value, 8);
}

static void
dovewarden_msgpack_put_int(struct dovewarden_msgpack *mp, int64_t value)
{
	/* pack_int64 of msgpack-c: non-negative values take the unsigned
	   forms, negative ones the shortest signed form */
	if (value >= 0)
		dovewarden_msgpack_put_uint(mp, (uint64_t)value);
	else if (value >= -32)
		dovewarden_msgpack_put_be(mp, (unsigned char)value, 0, 0);
	else if (value >= INT8_MIN)
		dovewarden_msgpack_put_be(mp, 0xd0, (uint64_t)value, 1);
	else if (value >= INT16_MIN)
		dovewarden_msgpack_put_be(mp, 0xd1, (uint64_t)value, 2);
	else if (value >= INT32_MIN)
		dovewarden_msgpack_put_be(mp, 0xd2, (uint64_t)value, 4);
	else
		dovewarden_msgpack_put_be(mp, 0xd3, (uint64_t)value, 8);
}

static void
dovewarden_msgpack_put_str(struct dovewarden_msgpack *mp, const char *str)
{
	size_t len = strlen(str);
	unsigned char *p;

	/* keys and most values: a fixstr, header and bytes in one go */
	if (len < 32) {
		if ((p = dovewarden_msgpack_room(mp, len + 1)) == NULL)
			return;
		p[0] = 0xa0 | (unsigned char)len;
		memcpy(p + 1, str, len);
		mp->used += len + 1;
		return;
	}
	if (len < 0x100)
		dovewarden_msgpack_put_be(mp, 0xd9, len, 1);
	else if (len < 0x10000)
		dovewarden_msgpack_put_be(mp, 0xda, len, 2);
	else if (len <= UINT32_MAX)
		dovewarden_msgpack_put_be(mp, 0xdb, len, 4);
	else {
		mp->failed = true;
		return;
	}
	dovewarden_msgpack_put(mp, str, len);
}

static void
dovewarden_msgpack_key(struct dovewarden_msgpack *mp, const char *key)
{
	dovewarden_msgpack_put_str(mp, key);
	mp->count++;
}

void dovewarden_msgpack_begin_keys(struct dovewarden_msgpack *mp)
{
	mp->used = 0;
	mp->count = 0;
	mp->failed = false;
}

void dovewarden_msgpack_begin(struct dovewarden_msgpack *mp, const char *type)
{
	dovewarden_msgpack_begin_keys(mp);
	if (!dovewarden_msgpack_reserve(mp, DOVEWARDEN_MSGPACK_HEADER_ROOM))
		return;
	mp->used = DOVEWARDEN_MSGPACK_HEADER_ROOM;
	dovewarden_msgpack_add_uint(mp, "v", DOVEWARDEN_WIRE_VERSION);
	dovewarden_msgpack_add_str(mp, "type", type);
}

void dovewarden_msgpack_add_encoded(struct dovewarden_msgpack *mp,
				    const struct dovewarden_msgpack *keys)
{
	if (keys->failed) {
		mp->failed = true;
		return;
	}
	dovewarden_msgpack_put(mp, keys->data, keys->used);
	mp->count += keys->count;
}

void dovewarden_msgpack_add_str(struct dovewarden_msgpack *mp, const char *key,
				const char *value)
{
	/* no value, no key: as the sink has always done */
	if (value == NULL)
		return;
	dovewarden_msgpack_key(mp, key);
	dovewarden_msgpack_put_str(mp, value);
}

void dovewarden_msgpack_add_int(struct dovewarden_msgpack *mp, const char *key,
				int64_t value)
{
	dovewarden_msgpack_key(mp, key);
	dovewarden_msgpack_put_int(mp, value);
}

void dovewarden_msgpack_add_uint(struct dovewarden_msgpack *mp, const char *key,
				 uint64_t value)
{
	dovewarden_msgpack_key(mp, key);
	dovewarden_msgpack_put_uint(mp, value);
}

void dovewarden_msgpack_add_strv(struct dovewarden_msgpack *mp, const char *key,
				 const char *const *values, unsigned int count)
{
	unsigned int i;

	dovewarden_msgpack_key(mp, key);
	if (count < 16)
		dovewarden_msgpack_put_be(mp, 0x90 | (unsigned char)count, 0,
					  0);
	else if (count < 0x10000)
		dovewarden_msgpack_put_be(mp, 0xdc, count, 2);
	else
		dovewarden_msgpack_put_be(mp, 0xdd, count, 4);
	for (i = 0; i < count; i++)
		dovewarden_msgpack_put_str(mp,
					   values[i] == NULL ? "" : values[i]);
}

bool dovewarden_msgpack_finish(struct dovewarden_msgpack *mp,
			       const unsigned char **data_r, size_t *size_r)
{
	unsigned char header[DOVEWARDEN_MSGPACK_HEADER_ROOM];
	size_t header_size, start, i;
	unsigned int shift;

	if (mp->failed || mp->used < DOVEWARDEN_MSGPACK_HEADER_ROOM)
		return false;
	if (mp->count < 16) {
		header[0] = 0x80 | (unsigned char)mp->count;
		header_size = 1;
	} else if (mp->count < 0x10000) {
		header[0] = 0xde;
		header_size = 3;
	} else {
		header[0] = 0xdf;
		header_size = 5;
	}
	for (i = header_size - 1, shift = 0; i > 0; i--, shift += 8)
		header[i] = (unsigned char)(mp->count >> shift);
	start = DOVEWARDEN_MSGPACK_HEADER_ROOM - header_size;
	memcpy(mp->data + start, header, header_size);
	*data_r = mp->data + start;
	*size_r = mp->used - start;
	return true;
}
