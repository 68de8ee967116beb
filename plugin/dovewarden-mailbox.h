#ifndef DOVEWARDEN_MAILBOX_H
#define DOVEWARDEN_MAILBOX_H

struct mailbox;

/* The GUID of box as a string, or NULL unless box is open (the GUID is at
   hand then). */
const char *dovewarden_mailbox_guid(struct mailbox *box);

/* mailbox.* events: sent at once, a mailbox change is its own commit */
void dovewarden_mailbox_create(struct mailbox *box);
/* returns the GUID of box, for the commit */
void *dovewarden_mailbox_delete_begin(struct mailbox *box);
void dovewarden_mailbox_delete_commit(void *guid, struct mailbox *box);
void dovewarden_mailbox_rename(struct mailbox *src, struct mailbox *dest);
void dovewarden_mailbox_set_subscribed(struct mailbox *box, bool subscribed);

#endif
