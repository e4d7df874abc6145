REVOKE ALL ON SCHEMA nova FROM PUBLIC;
GRANT USAGE ON SCHEMA nova TO PUBLIC;
GRANT USAGE ON SCHEMA nova TO nova_service;

-- Test hooks (nova._selftest_boundary, ...) are created by test_hooks/*.sql, in test builds only.

REVOKE ALL ON nova.outbox, nova.outbox_0, nova.outbox_1, nova.outbox_dead, nova.outbox_id_seq FROM PUBLIC;
-- Services read no pending events (other services' payloads): the backlog is in
-- nova.status() and view nova.relay (docs/security.md). 1.0 granted SELECT.
REVOKE ALL ON nova.outbox, nova.outbox_0, nova.outbox_1, nova.outbox_dead, nova.outbox_id_seq FROM nova_service;
