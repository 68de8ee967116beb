#ifndef DOVEWARDEN_MAILBOX_H
#define DOVEWARDEN_MAILBOX_H

struct mailbox;

/* mailbox.* events: sent at once, a mailbox change is its own commit */
void dovewarden_mailbox_create(struct mailbox *box);
void dovewarden_mailbox_delete_commit(void *txn, struct mailbox *box);
void dovewarden_mailbox_rename(struct mailbox *src, struct mailbox *dest);
void dovewarden_mailbox_set_subscribed(struct mailbox *box, bool subscribed);

#endif
