-- Settings that would weaken a check are superuser-only (docs/jwt.md,
-- docs/schemas.md): nova.jwt_leeway and nova.validate_events. A plain role's SET
-- fails with 42501 and the check still applies; an administrator can still set
-- them, also per role with ALTER ROLE ... SET.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set VERBOSITY default

SELECT name, context FROM pg_settings WHERE name IN ('nova.jwt_leeway', 'nova.validate_events') ORDER BY name;

-- ---- nova.jwt_leeway -------------------------------------------------------------------
SET nova.jwt_test_now = 1700000000;  -- the superuser-only test clock
-- a token that expired 86300 s ago
SELECT nova.jwt_sign('{"sub":"u","exp":1699913700}', repeat('k', 32)) AS day_old \gset
CREATE ROLE nova_regress_settings IN ROLE nova_service;
SET ROLE nova_regress_settings;
SET nova.jwt_leeway = 86400;
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('nova.jwt_leeway', '86400', false);
\echo :LAST_ERROR_SQLSTATE
SHOW nova.jwt_leeway;
-- the day-old token is still rejected
SELECT nova.jwt_verify(:'day_old', repeat('k', 32)) AS claims;
\echo :LAST_ERROR_SQLSTATE
-- nor can the role give itself a wider leeway for its next sessions
ALTER ROLE nova_regress_settings SET nova.jwt_leeway = 86400;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- an administrator can
SET nova.jwt_leeway = 86400;
SELECT nova.jwt_verify(:'day_old', repeat('k', 32)) AS admin_leeway_claims;
RESET nova.jwt_leeway;
ALTER ROLE nova_regress_settings SET nova.jwt_leeway = 60;
SELECT setconfig FROM pg_db_role_setting WHERE setrole = 'nova_regress_settings'::regrole;
ALTER ROLE nova_regress_settings RESET nova.jwt_leeway;
RESET nova.jwt_test_now;

-- ---- nova.validate_events -----------------------------------------------------------------
SELECT nova.register_schema('RegressSettingsEvent', '{"type": "object", "required": ["id"],
  "properties": {"id": {"type": "integer"}}}') AS version;
SELECT nova.grant_publish('nova_regress_settings', 'regress.settings');
SET ROLE nova_regress_settings;
SET nova.validate_events = off;
\echo :LAST_ERROR_SQLSTATE
SHOW nova.validate_events;
-- validation still applies: the invalid event is refused and nothing is written
SELECT nova.publish('regress.settings', '1', 'RegressSettingsEvent', '{"id": "not a number"}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS written FROM nova.outbox WHERE event_type = 'RegressSettingsEvent';
-- what the error's hint says works: a superuser sets warn for the role, whose
-- sessions then write the invalid event with a WARNING
SELECT current_user AS admin \gset
ALTER ROLE nova_regress_settings LOGIN;
ALTER ROLE nova_regress_settings SET nova.validate_events = warn;
\c - nova_regress_settings
SHOW nova.validate_events;
SELECT nova.publish('regress.settings', '2', 'RegressSettingsEvent', '{"id": "not a number"}') IS NOT NULL AS published;
\c - :admin
SELECT key FROM nova.outbox WHERE event_type = 'RegressSettingsEvent';
ALTER ROLE nova_regress_settings RESET nova.validate_events;
DELETE FROM nova.outbox WHERE event_type = 'RegressSettingsEvent';
DELETE FROM nova.event_schemas WHERE event_type = 'RegressSettingsEvent';
SELECT nova.revoke_publish('nova_regress_settings', 'regress.settings');
DROP ROLE nova_regress_settings;
