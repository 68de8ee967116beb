#ifndef DOVEWARDEN_ZMTP_CODEC_H
#define DOVEWARDEN_ZMTP_CODEC_H

/* ZMTP 3.0 (ZeroMQ RFC 23) as a PUSH peer with the NULL mechanism: the
   bytes this side sends, and a reader for what the PULL peer sends.

   Plain C on the C library alone: the unit tests and the fuzzers build it
   without Dovecot. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOVEWARDEN_ZMTP_GREETING_SIZE 64
/* our READY command: Socket-Type=PUSH */
#define DOVEWARDEN_ZMTP_READY_MAX_SIZE 64
/* a frame's header: flags and a 1- or 8-byte size */
#define DOVEWARDEN_ZMTP_FRAME_HEADER_MAX_SIZE 9
/* the flag that says another frame of the same message follows */
#define DOVEWARDEN_ZMTP_FLAG_MORE 0x01
/* the largest handshake command the reader accepts from a peer */
#define DOVEWARDEN_ZMTP_MAX_COMMAND_SIZE 4096

/* Our greeting: ZMTP 3.0, mechanism NULL, as the client. */
void dovewarden_zmtp_greeting(unsigned char out[DOVEWARDEN_ZMTP_GREETING_SIZE]);
/* Our READY command; returns its size. */
size_t dovewarden_zmtp_ready(unsigned char out[DOVEWARDEN_ZMTP_READY_MAX_SIZE]);
/* The header of a message frame of size bytes; more: another frame of
   the same message follows. Returns the header's size (2 or 9). */
size_t dovewarden_zmtp_frame_header(
	unsigned char out[DOVEWARDEN_ZMTP_FRAME_HEADER_MAX_SIZE],
	uint64_t size, bool more);

enum dovewarden_zmtp_read_result {
	/* everything given was consumed: give more when it comes */
	DOVEWARDEN_ZMTP_READ_MORE,
	/* the peer's greeting and READY were accepted: messages may go */
	DOVEWARDEN_ZMTP_READ_READY,
	/* the peer is not a ZMTP 3.x PULL peer with the NULL mechanism, or
	   refused us (ERROR): reader->error says which */
	DOVEWARDEN_ZMTP_READ_FAILED,
};

/* What the peer sends, fed as it arrives: its greeting, then its READY
   (or ERROR). Once ready, whatever else comes (a PULL peer sends nothing)
   is read over frame by frame and ignored. Memory is fixed and every byte
   is looked at once. */
struct dovewarden_zmtp_reader {
	unsigned int state;
	/* the greeting, or the current command frame's header and body */
	unsigned char buf[DOVEWARDEN_ZMTP_MAX_COMMAND_SIZE];
	size_t have, need;
	/* after the handshake: bytes of the current frame still to skip */
	uint64_t skip;
	bool ready;
	char error[256];
};

void dovewarden_zmtp_reader_init(struct dovewarden_zmtp_reader *reader);
/* Consume up to size bytes; *consumed_r says how many. READY is returned
   once, for the call that completed the handshake (the rest of data is
   then not consumed); after that, MORE. FAILED is final. */
enum dovewarden_zmtp_read_result
dovewarden_zmtp_reader_feed(struct dovewarden_zmtp_reader *reader,
			    const unsigned char *data, size_t size,
			    size_t *consumed_r);

#ifdef __cplusplus
}
#endif

#endif
