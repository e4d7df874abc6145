-- One session of the hostile stage (tools/test.sh hostile) whose own temporary
-- schema holds a `text` domain: pg_temp is searched first for types unless a
-- search_path names it, so nova SQL that writes an unqualified `text` (a cast,
-- a declaration) would resolve to it here. The domain's check reports like the
-- shadows in setup.sql. Then nova's SQL API is called once per feature; errors
-- do not matter (the stage reads the server log), reaching the code does.
SET client_min_messages = warning;
-- Tables first, with the real types.
CREATE TABLE public.probe_users (id pg_catalog.int8 PRIMARY KEY, name pg_catalog.text, deleted_at pg_catalog.timestamptz);
CREATE TABLE public.probe_posts (id pg_catalog.int8 PRIMARY KEY, user_id pg_catalog.int8 REFERENCES public.probe_users,
                                 body pg_catalog.text, deleted_at pg_catalog.timestamptz);
CREATE FUNCTION hostile._temp_text_hit(pg_catalog.text) RETURNS boolean LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp AS $$ BEGIN PERFORM hostile._hit('domain pg_temp.text'); RETURN true; END $$;
CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (hostile._temp_text_hit(VALUE));
CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (hostile._temp_text_hit(VALUE::pg_catalog.text));

-- outbox
SELECT nova.enable_outbox('public.probe_users');
SELECT nova.enable_outbox('public.probe_posts', topic => 'nova.probe_posts', exclude_columns => '{body}');
INSERT INTO public.probe_users VALUES (1, 'alice', NULL), (2, 'bob', NULL);
INSERT INTO public.probe_posts VALUES (10, 1, 'hello', NULL);
UPDATE public.probe_users SET name = 'alice2' WHERE id = 1;
SELECT nova.grant_publish('nova_service', 'probe.%');
SELECT nova.publish('probe.events', 'k', 'ProbeHappened', '{"a": 1}', '{"h": "v"}') IS NOT NULL;
SELECT nova._outbox_fast_path(false);
SELECT nova.publish('probe.events', 'k2', 'ProbeHappened', '{"a": 2}') IS NOT NULL;
SELECT nova._outbox_fast_path(true);
SELECT nova.status() IS NOT NULL;
SELECT count(*) FROM nova.relay;
SELECT nova.retry_dead();
-- as a service: the publish grant check
CREATE ROLE probe_svc IN ROLE nova_service;
SET ROLE probe_svc;
SELECT nova.publish('probe.events', 'k4', 'ProbeHappened', '{"a": 4}') IS NOT NULL;
SELECT nova.publish('other.events', 'k5', 'ProbeHappened', '{"a": 5}') IS NOT NULL;
RESET ROLE;
SELECT nova.revoke_publish('nova_service', 'probe.%');
-- soft delete
SELECT nova.enable_soft_delete('public.probe_posts');
SELECT nova.enable_soft_delete('public.probe_users');
DELETE FROM public.probe_posts WHERE id = 10;
DELETE FROM public.probe_users WHERE id = 2;
SELECT nova.restore('public.probe_posts', '{"id": 10}');
SELECT nova.purge('public.probe_posts', '0 seconds');
SELECT nova.erase_subject('1');
SELECT nova.disable_soft_delete('public.probe_posts');
-- JWT and authentication
SELECT nova.jwt_sign('{"sub": "u1"}', 'secret-probe-key-0123456789abcdef', 'HS256', NULL) AS tok \gset
SELECT nova.jwt_verify(:'tok', 'secret-probe-key-0123456789abcdef', '{HS256}', NULL, NULL) IS NOT NULL;
SELECT nova.jwt_decode_unverified(:'tok') IS NOT NULL;
SELECT nova.jwks_import('{"keys": [{"kty": "oct", "kid": "probe", "alg": "HS256", "k": "c2VjcmV0LXByb2JlLWtleS0wMTIzNDU2Nzg5YWJjZGVm"}]}');
SELECT nova.authenticate(:'tok');
SELECT nova.subject(), nova.claims() IS NOT NULL;
SELECT nova.jwt_revoke('some-jti', pg_catalog.now() OPERATOR(pg_catalog.+) interval '1 hour');
SELECT nova.jwt_revoke_subject('u2', pg_catalog.now());
SELECT nova.jwt_revocations_cleanup();
SELECT nova.jwt_cache_stats() IS NOT NULL;
-- cache
SELECT nova.cache_set('probe', 'v', '1 minute');
SELECT nova.cache_get('probe');
SELECT nova.cache_incr('probe-n', 1, '1 minute');
SELECT nova.cache_delete('probe');
SELECT nova.cache_stats() IS NOT NULL;
-- breakers
SELECT nova.breaker_configure('probe', '{"failure_rate_threshold": 50}');
SELECT nova.breaker_allow('probe');
SELECT nova.breaker_record('probe', false, '10 ms');
SELECT nova.breaker_force('probe', 'closed');
SELECT count(*) FROM nova.breakers;
-- event schemas
SELECT nova.register_schema('ProbeHappened', '{"type": "object"}', 'backward');
SELECT nova.check_schema('ProbeHappened', '{"type": "object"}');
SELECT nova.validate_event('ProbeHappened', '{"a": 1}');
SELECT nova.publish('probe.events', 'k3', 'ProbeHappened', '{"a": 3}') IS NOT NULL;
-- correlation
SELECT nova.correlation_id() IS NOT NULL, nova.traceparent();
-- tidy (the relay may deliver the rest)
SELECT nova.disable_outbox('public.probe_users');
SELECT nova.disable_outbox('public.probe_posts');
DROP ROLE probe_svc;
