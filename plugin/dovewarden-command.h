#ifndef DOVEWARDEN_COMMAND_H
#define DOVEWARDEN_COMMAND_H

/* imap_command_finished: the imap process sends it with e_debug(), which
   reaches event callbacks only while a debug filter matches it */

struct dovewarden_user;

/* Start watching commands, if the user wants their events: called when
   an imap user is created. */
void dovewarden_command_watch(const struct dovewarden_user *duser);
/* Re-merge our debug filter if the stats process replaced it. */
void dovewarden_command_filter_check(void);

void dovewarden_command_init(void);
void dovewarden_command_deinit(void);

#endif
