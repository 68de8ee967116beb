#ifndef BENCH_PLUGIN_COST_DOVECOT_H
#define BENCH_PLUGIN_COST_DOVECOT_H

/* What bench-plugin-cost needs of Dovecot, whose headers are not C++-clean:
   the library and an ioloop, as a mail process has them, and the plugin's
   native sink (plugin/dovewarden-zmtp.c) running on it. */

#include "dovewarden-sink.h"

#ifdef __cplusplus
extern "C" {
#endif

void bench_dovecot_init(void);
void bench_dovecot_deinit(void);
/* Run the ioloop until msecs have passed: what a mail process does
   between two commands. */
void bench_dovecot_run(unsigned int msecs);
const struct dovewarden_sink_api *bench_dovecot_zmtp_sink(void);

#ifdef __cplusplus
}
#endif

#endif
