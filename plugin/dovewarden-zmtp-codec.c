/* Copyright (c) dovewarden authors, see the included COPYING file */

#include "dovewarden-zmtp-codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Under AddressSanitizer (the fuzzers), the part of buf past the command
   being parsed is poisoned: reading past a command's end is reported,
   though it stays inside buf. */
#if defined(__SANITIZE_ADDRESS__)
#  define ZMTP_ASAN
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define ZMTP_ASAN
#  endif
#endif
#ifdef ZMTP_ASAN
#  include <sanitizer/asan_interface.h>
#  define ZMTP_POISON(addr, size) ASAN_POISON_MEMORY_REGION(addr, size)
#  define ZMTP_UNPOISON(addr, size) ASAN_UNPOISON_MEMORY_REGION(addr, size)
#else
#  define ZMTP_POISON(addr, size) ((void)(addr), (void)(size))
#  define ZMTP_UNPOISON(addr, size) ((void)(addr), (void)(size))
#endif

#define ZMTP_FLAG_LONG 0x02
#define ZMTP_FLAG_COMMAND 0x04

/* the greeting's fields (RFC 23): signature, version, mechanism */
#define ZMTP_SIGNATURE_END 9
#define ZMTP_MAJOR_OFFSET 10
#define ZMTP_MINOR_OFFSET 11
#define ZMTP_MECHANISM_OFFSET 12
#define ZMTP_MECHANISM_SIZE 20

#define ZMTP_SOCKET_TYPE "Socket-Type"

enum zmtp_reader_state {
	/* the peer's greeting, 64 bytes */
	ZMTP_READ_GREETING = 0,
	/* a frame's flags, then its 1- or 8-byte size */
	ZMTP_READ_FLAGS,
	ZMTP_READ_SIZE,
	/* a handshake command's body, kept in buf */
	ZMTP_READ_COMMAND,
	/* after the handshake: the rest of a frame, passed over */
	ZMTP_READ_SKIP,
	ZMTP_READ_FAILED,
};

void dovewarden_zmtp_greeting(unsigned char out[DOVEWARDEN_ZMTP_GREETING_SIZE])
{
	memset(out, 0, DOVEWARDEN_ZMTP_GREETING_SIZE);
	out[0] = 0xff;
	out[ZMTP_SIGNATURE_END] = 0x7f;
	/* 3.0: a 3.1 peer would expect PING to be answered */
	out[ZMTP_MAJOR_OFFSET] = 3;
	out[ZMTP_MINOR_OFFSET] = 0;
	memcpy(out + ZMTP_MECHANISM_OFFSET, "NULL", 4);
	/* as-server and the filler stay zero */
}

size_t dovewarden_zmtp_ready(unsigned char out[DOVEWARDEN_ZMTP_READY_MAX_SIZE])
{
	static const unsigned char body[] = {
		5, 'R', 'E', 'A', 'D', 'Y',
		11, 'S', 'o', 'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e',
		0, 0, 0, 4, 'P', 'U', 'S', 'H',
	};

	out[0] = ZMTP_FLAG_COMMAND;
	out[1] = sizeof(body);
	memcpy(out + 2, body, sizeof(body));
	return 2 + sizeof(body);
}

size_t dovewarden_zmtp_frame_header(
	unsigned char out[DOVEWARDEN_ZMTP_FRAME_HEADER_MAX_SIZE], uint64_t size,
	bool more)
{
	unsigned int i;

	out[0] = more ? DOVEWARDEN_ZMTP_FLAG_MORE : 0;
	if (size <= 0xff) {
		out[1] = (unsigned char)size;
		return 2;
	}
	out[0] |= ZMTP_FLAG_LONG;
	for (i = 0; i < 8; i++)
		out[8 - i] = (unsigned char)(size >> (8 * i));
	return 9;
}

void dovewarden_zmtp_reader_init(struct dovewarden_zmtp_reader *reader)
{
	memset(reader, 0, sizeof(*reader));
	reader->state = ZMTP_READ_GREETING;
	reader->need = DOVEWARDEN_ZMTP_GREETING_SIZE;
}

static void __attribute__((format(printf, 2, 3)))
zmtp_fail(struct dovewarden_zmtp_reader *reader, const char *fmt, ...);

static void
zmtp_fail(struct dovewarden_zmtp_reader *reader, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(reader->error, sizeof(reader->error), fmt, args);
	va_end(args);
	reader->state = ZMTP_READ_FAILED;
}

/* What the peer named, fit for a log line: printable ASCII only, at most
   size-1 characters. */
static const char *
zmtp_printable(char *out, size_t size, const unsigned char *data, size_t len)
{
	size_t i;

	if (len > size - 1)
		len = size - 1;
	for (i = 0; i < len; i++) {
		bool printable = data[i] >= 0x20 && data[i] < 0x7f;

		out[i] = printable ? (char)data[i] : '?';
	}
	out[len] = '\0';
	return out;
}

static bool
zmtp_name_is(const unsigned char *name, size_t len, const char *expected)
{
	return len == strlen(expected) && memcmp(name, expected, len) == 0;
}

static bool
zmtp_name_is_nocase(const unsigned char *name, size_t len, const char *expected)
{
	size_t i;

	if (len != strlen(expected))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = name[i];

		if (c >= 'A' && c <= 'Z')
			c = c - 'A' + 'a';
		if (c != (unsigned char)expected[i])
			return false;
	}
	return true;
}

static uint32_t zmtp_be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
		((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* Check what has come of the greeting so far: a peer that is no ZMTP 3
   peer may never send all 64 bytes. */
static void zmtp_check_greeting(struct dovewarden_zmtp_reader *reader)
{
	static const unsigned char null_mechanism[ZMTP_MECHANISM_SIZE] = "NULL";
	const unsigned char *greeting = reader->buf;
	const unsigned char *mechanism = greeting + ZMTP_MECHANISM_OFFSET;
	char name[ZMTP_MECHANISM_SIZE + 1];
	size_t len;

	if (reader->have > 0 && greeting[0] != 0xff) {
		zmtp_fail(reader, "not a ZMTP peer");
		return;
	}
	if (reader->have > ZMTP_SIGNATURE_END &&
	    (greeting[ZMTP_SIGNATURE_END] & 0x01) == 0) {
		zmtp_fail(reader, "not a ZMTP peer");
		return;
	}
	if (reader->have > ZMTP_MAJOR_OFFSET &&
	    greeting[ZMTP_MAJOR_OFFSET] < 3) {
		zmtp_fail(reader, "peer speaks ZMTP 1.0/2.0, 3.x needed");
		return;
	}
	if (reader->have < ZMTP_MECHANISM_OFFSET + ZMTP_MECHANISM_SIZE ||
	    memcmp(mechanism, null_mechanism, ZMTP_MECHANISM_SIZE) == 0)
		return;
	len = strnlen((const char *)mechanism, ZMTP_MECHANISM_SIZE);
	if (zmtp_name_is(mechanism, len, "CURVE")) {
		zmtp_fail(reader,
			  "peer uses CURVE; set dovewarden_curve_server_key, "
			  "dovewarden_curve_public_key and "
			  "dovewarden_curve_secret_key");
		return;
	}
	zmtp_fail(reader, "peer uses the mechanism %s, NULL needed",
		  zmtp_printable(name, sizeof(name), mechanism, len));
}

static void zmtp_read_ready(struct dovewarden_zmtp_reader *reader,
			    const unsigned char *props, size_t size)
{
	char value[32];
	bool have_type = false;
	size_t pos = 0, name_len, value_len;
	const unsigned char *name;

	while (pos < size) {
		name_len = props[pos++];
		name = props + pos;
		if (name_len == 0 || size - pos < name_len + 4) {
			zmtp_fail(reader, "peer sent a malformed READY");
			return;
		}
		pos += name_len;
		value_len = zmtp_be32(props + pos);
		pos += 4;
		if (size - pos < value_len) {
			zmtp_fail(reader, "peer sent a malformed READY");
			return;
		}
		if (zmtp_name_is_nocase(name, name_len, "socket-type")) {
			if (!zmtp_name_is_nocase(props + pos, value_len,
						 "pull")) {
				zmtp_fail(reader,
					  "peer is a %s socket, PULL needed",
					  zmtp_printable(value, sizeof(value),
							 props + pos,
							 value_len));
				return;
			}
			have_type = true;
		}
		/* any other property (Identity, ...) is of no use to a PUSH */
		pos += value_len;
	}
	if (!have_type) {
		zmtp_fail(reader, "peer sent no " ZMTP_SOCKET_TYPE " in READY");
		return;
	}
	reader->ready = true;
	reader->state = ZMTP_READ_FLAGS;
	reader->need = 1;
}

static void zmtp_read_command(struct dovewarden_zmtp_reader *reader)
{
	const unsigned char *body = reader->buf;
	char text[200];
	size_t name_len = body[0], size = reader->have, reason_len;

	/* a command has at least one byte: its size was checked */
	if (name_len == 0 || size - 1 < name_len) {
		zmtp_fail(reader, "peer sent a malformed command");
		return;
	}
	if (zmtp_name_is(body + 1, name_len, "READY")) {
		zmtp_read_ready(reader, body + 1 + name_len,
				size - 1 - name_len);
	} else if (zmtp_name_is(body + 1, name_len, "ERROR")) {
		body += 1 + name_len;
		size -= 1 + name_len;
		reason_len = size > 0 ? body[0] : 0;
		if (reason_len > size - 1)
			reason_len = size - 1;
		zmtp_fail(reader, "peer refused: %s",
			  zmtp_printable(text, sizeof(text), body + 1,
					 reason_len));
	} else {
		zmtp_fail(
			reader, "peer sent the command %s before READY",
			zmtp_printable(text, sizeof(text), body + 1, name_len));
	}
}

/* A frame's header is complete in buf: go on to its body. */
static void zmtp_read_header(struct dovewarden_zmtp_reader *reader)
{
	unsigned char flags = reader->buf[0];
	uint64_t size = 0;
	unsigned int i;

	for (i = 1; i < reader->have; i++)
		size = (size << 8) | reader->buf[i];
	if (reader->ready) {
		reader->skip = size;
		reader->state = size > 0 ? ZMTP_READ_SKIP : ZMTP_READ_FLAGS;
		reader->need = 1;
	} else if ((flags & ZMTP_FLAG_COMMAND) == 0) {
		zmtp_fail(reader, "peer sent a message before READY");
		return;
	} else if (size == 0) {
		zmtp_fail(reader, "peer sent a malformed command");
		return;
	} else if (size > DOVEWARDEN_ZMTP_MAX_COMMAND_SIZE) {
		zmtp_fail(reader,
			  "peer sent a command of %llu bytes, at most %u "
			  "expected",
			  (unsigned long long)size,
			  DOVEWARDEN_ZMTP_MAX_COMMAND_SIZE);
		return;
	} else {
		reader->state = ZMTP_READ_COMMAND;
		reader->need = (size_t)size;
	}
	reader->have = 0;
}

/* buf holds need bytes: act on them. */
static void zmtp_read_complete(struct dovewarden_zmtp_reader *reader)
{
	switch ((enum zmtp_reader_state)reader->state) {
	case ZMTP_READ_GREETING:
		reader->state = ZMTP_READ_FLAGS;
		reader->have = 0;
		reader->need = 1;
		break;
	case ZMTP_READ_FLAGS:
		reader->state = ZMTP_READ_SIZE;
		reader->need = 1 +
			((reader->buf[0] & ZMTP_FLAG_LONG) != 0 ? 8 : 1);
		break;
	case ZMTP_READ_SIZE:
		zmtp_read_header(reader);
		break;
	case ZMTP_READ_COMMAND:
		ZMTP_POISON(reader->buf + reader->have,
			    sizeof(reader->buf) - reader->have);
		zmtp_read_command(reader);
		ZMTP_UNPOISON(reader->buf, sizeof(reader->buf));
		break;
	case ZMTP_READ_SKIP:
	case ZMTP_READ_FAILED:
		break;
	}
}

enum dovewarden_zmtp_read_result
dovewarden_zmtp_reader_feed(struct dovewarden_zmtp_reader *reader,
			    const unsigned char *data, size_t size,
			    size_t *consumed_r)
{
	size_t pos = 0, n;

	while (pos < size && reader->state != ZMTP_READ_FAILED) {
		if (reader->state == ZMTP_READ_SKIP) {
			n = size - pos;
			if (n > reader->skip)
				n = (size_t)reader->skip;
			pos += n;
			reader->skip -= n;
			if (reader->skip == 0) {
				reader->state = ZMTP_READ_FLAGS;
				reader->have = 0;
				reader->need = 1;
			}
			continue;
		}
		n = reader->need - reader->have;
		if (n > size - pos)
			n = size - pos;
		memcpy(reader->buf + reader->have, data + pos, n);
		reader->have += n;
		pos += n;
		if (reader->state == ZMTP_READ_GREETING)
			zmtp_check_greeting(reader);
		if (reader->state == ZMTP_READ_FAILED ||
		    reader->have < reader->need)
			continue;
		if (reader->ready) {
			zmtp_read_complete(reader);
			continue;
		}
		zmtp_read_complete(reader);
		if (reader->ready) {
			*consumed_r = pos;
			return DOVEWARDEN_ZMTP_READ_READY;
		}
	}
	*consumed_r = pos;
	return reader->state == ZMTP_READ_FAILED ? DOVEWARDEN_ZMTP_READ_FAILED :
						   DOVEWARDEN_ZMTP_READ_MORE;
}
