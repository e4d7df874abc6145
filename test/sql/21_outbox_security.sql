-- Outbox write path security (docs/security.md, docs/outbox.md): publish grants,
-- services read no pending events, nova.max_event_bytes, and nova's direct
-- insert held to the constraints an operator adds to the outbox. Every refusal
-- is checked as a non-superuser role, with its SQLSTATE and the absence of its
-- side effect.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set SHOW_CONTEXT never
TRUNCATE nova.outbox;

CREATE ROLE regress_sec_billing IN ROLE nova_service;
CREATE ROLE regress_sec_billing_worker IN ROLE regress_sec_billing;  -- has billing's privileges
CREATE ROLE regress_sec_writer;                                      -- not a service at all

-- 1. A service without a publish grant cannot publish, to any topic.
SET ROLE regress_sec_billing;
SELECT nova.publish('nova.users', '42', 'UserDeleted', '{"id": 42}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('billing.invoices', 'inv-0', 'InvoicePaid', '{}');
\echo :LAST_ERROR_SQLSTATE
-- nor grant itself one, through the function or the table
SELECT nova.grant_publish('regress_sec_billing', '%');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nova.publish_grants VALUES ('regress_sec_billing', '%');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS events FROM nova.outbox;
SELECT count(*) AS grants FROM nova.publish_grants;

-- 2. A grant covers the topics its LIKE pattern matches, for the grantee and
-- the roles that have its privileges; idempotent.
SELECT nova.grant_publish('regress_sec_billing', 'billing.%');
SELECT nova.grant_publish('regress_sec_billing', 'billing.%');
SELECT grantee, topic_pattern FROM nova.publish_grants;
SET ROLE regress_sec_billing;
SELECT nova.publish('billing.invoices', 'inv-1', 'InvoicePaid', '{"amount": 10}') IS NOT NULL AS published;
SELECT count(nova.publish('billing.invoices', 'k' || g, 'InvoiceNoted', '{}')) AS published FROM generate_series(1, 3) g;
SELECT nova.publish('nova.users', '42', 'UserDeleted', '{"id": 42}');
\echo :LAST_ERROR_SQLSTATE
-- one statement, two topics: the ungranted one refuses the whole statement
SELECT count(nova.publish(t, 'k', 'Mixed', '{}')) FROM (VALUES ('billing.ok'), ('nova.users')) v(t);
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_sec_billing_worker;
SELECT nova.publish('billing.refunds', 'r-1', 'RefundIssued', '{}') IS NOT NULL AS published_by_member;
RESET ROLE;
SELECT topic, key, event_type, actor FROM nova.outbox ORDER BY id;
SELECT count(*) AS user_events FROM nova.outbox WHERE topic = 'nova.users' OR event_type = 'Mixed';

-- 3. Services read no pending events (payloads of other services) ...
SET ROLE regress_sec_billing;
SELECT count(*) FROM nova.outbox;
\echo :LAST_ERROR_SQLSTATE
SELECT payload FROM nova.outbox_0;
\echo :LAST_ERROR_SQLSTATE
SELECT payload FROM nova.outbox_1;
\echo :LAST_ERROR_SQLSTATE
-- ... but see the backlog through the relay view and nova.status() (counts, no payloads).
SELECT pending FROM nova.relay;
SELECT (nova.status()->>'pending')::int AS pending, nova.status()::text LIKE '%InvoicePaid%' AS shows_events;
RESET ROLE;
SELECT has_table_privilege('nova_service', 'nova.outbox', 'SELECT') AS service_reads_outbox,
       has_table_privilege('nova_service', 'nova.outbox_dead', 'SELECT') AS service_reads_dead,
       has_table_privilege('nova_service', 'nova.publish_grants', 'SELECT') AS service_reads_grants;

-- 4. A revoke takes effect at the next statement, also inside a transaction.
BEGIN;
SET LOCAL ROLE regress_sec_billing;
SELECT nova.publish('billing.invoices', 'inv-2', 'InvoicePaid', '{}') IS NOT NULL AS published;
RESET ROLE;
SELECT nova.revoke_publish('regress_sec_billing', 'billing.%');
SET LOCAL ROLE regress_sec_billing;
SELECT nova.publish('billing.invoices', 'inv-3', 'InvoicePaid', '{}');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT count(*) AS grants_after_rollback FROM nova.publish_grants;
SELECT nova.revoke_publish('regress_sec_billing', 'billing.%');
SELECT nova.revoke_publish('regress_sec_billing', 'billing.%');
SET ROLE regress_sec_billing;
SELECT nova.publish('billing.invoices', 'inv-4', 'InvoicePaid', '{}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS inv_4_events FROM nova.outbox WHERE key = 'inv-4';
-- bad arguments
SELECT nova.grant_publish(NULL, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.grant_publish('regress_sec_billing', '');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.grant_publish('no_such_role_anywhere', 'x');
\echo :LAST_ERROR_SQLSTATE

-- 5. The outbox trigger needs no publish grant: the table owner enabled it.
CREATE TABLE sec_docs (id int PRIMARY KEY, body text);
SELECT nova.enable_outbox('sec_docs');
GRANT INSERT, SELECT ON sec_docs TO regress_sec_writer, regress_sec_billing;
SET ROLE regress_sec_writer;
INSERT INTO sec_docs VALUES (1, 'by a writer without grants');
SET ROLE regress_sec_billing;
INSERT INTO sec_docs VALUES (2, 'by a service without grants');
RESET ROLE;
SELECT topic, key, event_type, actor FROM nova.outbox WHERE topic = 'nova.sec_docs' ORDER BY id;
TRUNCATE nova.outbox;

-- 6. nova.max_event_bytes (superuser only, default 1MB) bounds key + payload +
-- headers, for nova.publish and for the trigger; 54000, nothing written.
SELECT nova.grant_publish('regress_sec_billing', 'billing.%');
SHOW nova.max_event_bytes;
SET ROLE regress_sec_billing;
SET nova.max_event_bytes = '10MB';
\echo :LAST_ERROR_SQLSTATE
SHOW nova.max_event_bytes;
SELECT nova.publish('billing.big', repeat('k', 1024 * 1024), 'BigKey', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('billing.big', 'k', 'BigPayload', jsonb_build_object('blob', repeat('x', 5 * 1024 * 1024)));
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('billing.big', 'k', 'BigHeaders', jsonb_build_object('blob', repeat('x', 600000)),
                    jsonb_build_object('h', repeat('y', 600000)));
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('billing.big', 'k', 'JustFits', jsonb_build_object('blob', repeat('x', 1000000))) IS NOT NULL AS published;
SET ROLE regress_sec_writer;
INSERT INTO sec_docs VALUES (3, repeat('x', 2 * 1024 * 1024));
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT event_type, octet_length(payload::text) > 1000000 AS about_1mb FROM nova.outbox ORDER BY id;
SELECT count(*) AS big_rows FROM sec_docs WHERE id = 3;
-- a superuser may raise it (here for the session)
SET nova.max_event_bytes = '10MB';
INSERT INTO sec_docs VALUES (3, repeat('x', 2 * 1024 * 1024));
RESET nova.max_event_bytes;
SELECT key, event_type FROM nova.outbox WHERE topic = 'nova.sec_docs';
TRUNCATE nova.outbox;

-- 7. An operator's constraints on the outbox hold for nova's own writes, on the
-- direct partition insert (default) and on the INSERT fallback alike. (The
-- operator is qualified so that the hostile stage, tools/test.sh hostile, does
-- not count this test's own constraint as nova's SQL.)
\set VERBOSITY terse
ALTER TABLE nova.outbox_0 ADD CONSTRAINT regress_no_ssn CHECK (NOT (payload OPERATOR(pg_catalog.?) 'ssn'));
ALTER TABLE nova.outbox_1 ADD CONSTRAINT regress_no_ssn CHECK (NOT (payload OPERATOR(pg_catalog.?) 'ssn'));
ALTER TABLE nova.outbox ALTER COLUMN key SET NOT NULL;
CREATE TABLE sec_people (id int PRIMARY KEY, ssn text);
SELECT nova.enable_outbox('sec_people');
GRANT INSERT ON sec_people TO regress_sec_writer;
SET ROLE regress_sec_billing;
SELECT nova.publish('billing.people', 'p1', 'PersonAdded', '{"ssn": "078-05-1120"}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('billing.people', NULL, 'PersonNoted', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('billing.people', 'p2', 'PersonAdded', '{"name": "ok"}') IS NOT NULL AS published;
SET ROLE regress_sec_writer;
INSERT INTO sec_people VALUES (1, '078-05-1120');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT nova._outbox_fast_path(false) AS was_fast;
SET ROLE regress_sec_billing;
SELECT nova.publish('billing.people', 'p3', 'PersonAdded', '{"ssn": "078-05-1120"}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('billing.people', NULL, 'PersonNoted', '{}');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_sec_writer;
INSERT INTO sec_people VALUES (2, '078-05-1120');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT nova._outbox_fast_path(true) AS was_fast;
SELECT key, event_type FROM nova.outbox ORDER BY id;
SELECT count(*) AS people FROM sec_people;
ALTER TABLE nova.outbox_0 DROP CONSTRAINT regress_no_ssn;
ALTER TABLE nova.outbox_1 DROP CONSTRAINT regress_no_ssn;
ALTER TABLE nova.outbox ALTER COLUMN key DROP NOT NULL;
-- A statement trigger on nova.outbox itself: an INSERT would fire it, so nova's
-- write takes the INSERT path and fires it too.
CREATE FUNCTION sec_outbox_audit() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RAISE NOTICE 'statement trigger on nova.outbox fired'; RETURN NULL; END $$;
CREATE TRIGGER sec_outbox_audit AFTER INSERT ON nova.outbox FOR EACH STATEMENT EXECUTE FUNCTION sec_outbox_audit();
SET ROLE regress_sec_billing;
SELECT nova.publish('billing.people', 'p4', 'PersonAdded', '{}') IS NOT NULL AS published;
RESET ROLE;
DROP TRIGGER sec_outbox_audit ON nova.outbox;
-- Row-level security on the outbox: nova writes as the extension owner, which
-- (a superuser) bypasses policies as it would with an INSERT; the direct insert
-- defers to that INSERT and the event is written either way.
ALTER TABLE nova.outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY regress_nothing ON nova.outbox USING (false) WITH CHECK (false);
SET ROLE regress_sec_billing;
SELECT nova.publish('billing.people', 'p5', 'PersonAdded', '{}') IS NOT NULL AS published;
RESET ROLE;
DROP POLICY regress_nothing ON nova.outbox;
ALTER TABLE nova.outbox DISABLE ROW LEVEL SECURITY;
SELECT key, event_type FROM nova.outbox WHERE key IN ('p4', 'p5') ORDER BY id;
\set VERBOSITY default

-- clean up
SELECT nova.disable_outbox('sec_docs');
SELECT nova.disable_outbox('sec_people');
DROP TABLE sec_docs, sec_people;
DROP FUNCTION sec_outbox_audit();
SELECT nova.revoke_publish('regress_sec_billing', 'billing.%');
DROP ROLE regress_sec_billing_worker, regress_sec_billing, regress_sec_writer;
TRUNCATE nova.outbox;
