#ifndef DOVEWARDEN_OPEN_H
#define DOVEWARDEN_OPEN_H

struct mail;

/* message.open: a message a client opened. Dovecot raises its mail_opened
   event from the mail's istream_opened() (index_mail_opened()), with
   e_debug(): wrapping that function sees the same opens, with the mail at
   hand and without a debug filter. Only users whose dovewarden_events names
   message.open pay for the wrapper. */
void dovewarden_open_mail_allocated(struct mail *mail);

#endif
