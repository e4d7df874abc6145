REVOKE ALL ON nova.breaker_config FROM PUBLIC;

CREATE OR REPLACE FUNCTION nova.breaker_allow(name text) RETURNS boolean
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_breaker_allow';
CREATE OR REPLACE FUNCTION nova.breaker_record(name text, success boolean, duration interval DEFAULT NULL) RETURNS text
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_breaker_record';
CREATE OR REPLACE FUNCTION nova.breaker_force(name text, state text) RETURNS void
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_breaker_force';

-- Validates the options and queues them for shared memory at commit.
CREATE OR REPLACE FUNCTION nova._breaker_prepare_config(name text, options jsonb) RETURNS void
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_breaker_prepare_config';

CREATE OR REPLACE FUNCTION nova.breaker_configure(name text, options jsonb) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF name IS NULL OR options IS NULL THEN
    RAISE EXCEPTION 'breaker name and options must not be null' USING ERRCODE = '22004';
  END IF;
  PERFORM nova._breaker_prepare_config(name, options);
  INSERT INTO nova.breaker_config AS c (name, options) VALUES (name, options)
    ON CONFLICT ON CONSTRAINT breaker_config_pkey
    DO UPDATE SET options = EXCLUDED.options, updated_at = pg_catalog.now();
END
$$;

CREATE OR REPLACE FUNCTION nova._breaker_states(
  OUT name text, OUT state text, OUT failure_rate float8, OUT slow_call_rate float8,
  OUT calls int, OUT failed_calls int, OUT slow_calls int, OUT not_permitted_calls bigint,
  OUT consecutive_failures int, OUT half_open_permits_in_use int,
  OUT opened_at timestamptz, OUT next_attempt_at timestamptz, OUT remaining_wait interval,
  OUT config jsonb) RETURNS SETOF record
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_breaker_states';

CREATE OR REPLACE VIEW nova.breakers AS
  SELECT b.name, b.state, b.failure_rate, b.slow_call_rate, b.calls, b.failed_calls, b.slow_calls,
         b.not_permitted_calls, b.consecutive_failures, b.half_open_permits_in_use,
         b.opened_at, b.next_attempt_at, b.remaining_wait, b.config
    FROM nova._breaker_states() AS b
   ORDER BY b.name;

REVOKE ALL ON FUNCTION nova.breaker_allow(text), nova.breaker_record(text, boolean, interval),
  nova.breaker_force(text, text), nova._breaker_prepare_config(text, jsonb),
  nova.breaker_configure(text, jsonb), nova._breaker_states()
  FROM PUBLIC;
REVOKE ALL ON nova.breakers FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nova.breaker_allow(text), nova.breaker_record(text, boolean, interval),
  nova._breaker_states() TO nova_service;
GRANT SELECT ON nova.breakers TO nova_service;
