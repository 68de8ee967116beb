#ifndef DOVEWARDEN_TXN_H
#define DOVEWARDEN_TXN_H

#include "mail-types.h"

struct mail;
struct mailbox_transaction_context;
struct mail_transaction_commit_changes;

/* message events are collected per transaction and sent at commit: only
   then do saved messages have UIDs */
void *dovewarden_txn_begin(struct mailbox_transaction_context *t);
void dovewarden_txn_save(void *txn, struct mail *mail);
void dovewarden_txn_copy(void *txn, struct mail *src, struct mail *dst);
void dovewarden_txn_expunge(void *txn, struct mail *mail);
void dovewarden_txn_update_flags(void *txn, struct mail *mail,
				 enum mail_flags old_flags);
void dovewarden_txn_update_keywords(void *txn, struct mail *mail,
				    const char *const *old_keywords);
void dovewarden_txn_commit(void *txn,
			   struct mail_transaction_commit_changes *changes);
void dovewarden_txn_rollback(void *txn);

/* Forget what the plugin remembers between transactions. */
void dovewarden_txn_deinit(void);

#endif
