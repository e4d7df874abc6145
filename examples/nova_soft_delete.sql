-- Soft delete for the sample Nova schema (docs/soft-delete.md).
-- Load after examples/nova_schema.sql (it is included from there):
--   DELETE on users, posts, comments and messages keeps the row (deleted_at/by set),
--   cascades along ON DELETE CASCADE foreign keys between these tables, is audited
--   in nova.audit_log and emits <Entity>Deleted events; nova.restore() undoes exactly
--   one delete; nova.purge() and nova.erase_subject() remove rows for good
--   (<Entity>Purged tombstones).
-- Owner columns name each row's data subject for GDPR erasure:
--   users.id, posts.author_id, comments.author_id, messages.sender_id.
SET client_min_messages = warning;   -- enable_soft_delete reports foreign keys as NOTICEs

-- Unique constraints would stop a new account from taking the e-mail address or
-- username of a soft-deleted one (that row keeps its values until purged):
-- make them partial unique indexes over live rows, as enable_soft_delete suggests.
-- (Keep a plain UNIQUE instead if a handle must stay reserved until purge.)
ALTER TABLE users ADD COLUMN IF NOT EXISTS deleted_at timestamptz;
CREATE UNIQUE INDEX users_username_active ON users (username) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_email_active ON users (email) WHERE deleted_at IS NULL;
ALTER TABLE users DROP CONSTRAINT users_username_key, DROP CONSTRAINT users_email_key;

SELECT nova.enable_soft_delete('users', owner_column => 'id');
SELECT nova.enable_soft_delete('posts', owner_column => 'author_id');
SELECT nova.enable_soft_delete('comments', owner_column => 'author_id');
SELECT nova.enable_soft_delete('messages', owner_column => 'sender_id');

-- Services read live rows through the active_ views (DELETE through them reports the
-- right row count); they were created by enable_soft_delete with security_invoker.
GRANT SELECT, INSERT, UPDATE, DELETE ON active_users, active_posts, active_comments, active_messages TO nova_service;
RESET client_min_messages;
