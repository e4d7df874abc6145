-- Circuit breakers (docs/breakers.md): shared state machine, options, forcing, the view,
-- transactional configuration, privileges. Time moves only through the
-- superuser-only test clock nova._breaker_clock_advance, never by sleeping.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- A small breaker: 4-call window, opens at 50% failures after 2 calls.
SELECT nova.breaker_configure('regress_a', '{"sliding_window_size": 4, "minimum_number_of_calls": 2,
  "failure_rate_threshold": 50, "wait_duration_in_open_state": "1 min", "permitted_calls_in_half_open_state": 2}');
SELECT nova.breaker_force('regress_a', 'closed');  -- a clean start if the suite runs twice
SELECT options->>'sliding_window_size' AS stored FROM nova.breaker_config WHERE name = 'regress_a';

-- CLOSED: calls go ahead; one failure is below the minimum number of calls.
SELECT nova.breaker_allow('regress_a');
SELECT nova.breaker_record('regress_a', true);
SELECT state, calls, failed_calls, failure_rate FROM nova.breakers WHERE name = 'regress_a';
SELECT nova.breaker_record('regress_a', false);  -- 1 of 2 failed: 50% → OPEN
SELECT state, calls, failed_calls, failure_rate, opened_at IS NOT NULL AS opened,
       next_attempt_at - opened_at AS wait, remaining_wait > '0' AND remaining_wait <= '1 min' AS waiting
  FROM nova.breakers WHERE name = 'regress_a';

-- OPEN: every call is refused and counted.
SELECT nova.breaker_allow('regress_a'), nova.breaker_allow('regress_a');
SELECT state, not_permitted_calls FROM nova.breakers WHERE name = 'regress_a';
-- A late result of a call allowed before the breaker opened changes nothing.
SELECT nova.breaker_record('regress_a', true);

-- After the wait the next allow moves to HALF_OPEN and takes one of 2 permits.
SELECT nova._breaker_clock_advance('1 min');
SELECT nova.breaker_allow('regress_a') AS probe1, nova.breaker_allow('regress_a') AS probe2,
       nova.breaker_allow('regress_a') AS third_refused;
SELECT state, half_open_permits_in_use, calls FROM nova.breakers WHERE name = 'regress_a';
-- One probe fails, one succeeds: 50% ≥ 50% → OPEN again.
SELECT nova.breaker_record('regress_a', false);
SELECT nova.breaker_record('regress_a', true);
SELECT state, next_attempt_at - opened_at AS wait FROM nova.breakers WHERE name = 'regress_a';

-- Two good probes close it, with fresh metrics.
SELECT nova._breaker_clock_advance('1 min');
SELECT nova.breaker_allow('regress_a'), nova.breaker_allow('regress_a');
SELECT nova.breaker_record('regress_a', true);
SELECT nova.breaker_record('regress_a', true, '10 ms');
SELECT state, calls, not_permitted_calls, opened_at, next_attempt_at, remaining_wait
  FROM nova.breakers WHERE name = 'regress_a';
SELECT nova.breaker_allow('regress_a');

-- Exponential backoff: the wait doubles each time a probe fails, up to the cap.
SELECT nova.breaker_configure('regress_b', '{"sliding_window_size": 2, "minimum_number_of_calls": 1,
  "wait_duration_in_open_state": "10 s", "exponential_backoff_multiplier": 2,
  "exponential_max_wait_duration_in_open_state": "30 s", "permitted_calls_in_half_open_state": 1}');
SELECT nova.breaker_force('regress_b', 'closed');
SELECT nova.breaker_record('regress_b', false);
SELECT next_attempt_at - opened_at AS wait1 FROM nova.breakers WHERE name = 'regress_b';
SELECT nova._breaker_clock_advance('10 s');
SELECT nova.breaker_allow('regress_b'), nova.breaker_record('regress_b', false);
SELECT next_attempt_at - opened_at AS wait2 FROM nova.breakers WHERE name = 'regress_b';
SELECT nova._breaker_clock_advance('20 s');
SELECT nova.breaker_allow('regress_b'), nova.breaker_record('regress_b', false);
SELECT nova._breaker_clock_advance('30 s');
SELECT nova.breaker_allow('regress_b'), nova.breaker_record('regress_b', false);
SELECT next_attempt_at - opened_at AS wait_capped FROM nova.breakers WHERE name = 'regress_b';

-- Slow calls: longer than slow_call_duration; a NULL duration is never slow.
SELECT nova.breaker_configure('regress_slow', '{"sliding_window_size": 4, "minimum_number_of_calls": 4,
  "slow_call_duration": "200 ms", "slow_call_rate_threshold": 50}');
SELECT nova.breaker_force('regress_slow', 'closed');
SELECT nova.breaker_record('regress_slow', true, '200 ms');
SELECT nova.breaker_record('regress_slow', true);
SELECT nova.breaker_record('regress_slow', true, '201 ms');
SELECT state, calls, slow_calls, slow_call_rate FROM nova.breakers WHERE name = 'regress_slow';
SELECT nova.breaker_record('regress_slow', true, '3 s');
SELECT state, slow_calls, slow_call_rate, failure_rate FROM nova.breakers WHERE name = 'regress_slow';

-- Consecutive-failures mode: 3 failures in a row open it; a success resets the streak.
SELECT nova.breaker_configure('regress_consec', '{"consecutive_failures_threshold": 3}');
SELECT nova.breaker_force('regress_consec', 'closed');
SELECT nova.breaker_record('regress_consec', false), nova.breaker_record('regress_consec', false),
       nova.breaker_record('regress_consec', true);
SELECT consecutive_failures FROM nova.breakers WHERE name = 'regress_consec';
SELECT nova.breaker_record('regress_consec', false), nova.breaker_record('regress_consec', false),
       nova.breaker_record('regress_consec', false);

-- Time-based window: calls older than the window no longer count.
SELECT nova.breaker_configure('regress_time', '{"sliding_window_type": "time_based", "sliding_window_size": 60,
  "minimum_number_of_calls": 3}');
SELECT nova.breaker_force('regress_time', 'closed');
SELECT nova.breaker_record('regress_time', false), nova.breaker_record('regress_time', false);
SELECT calls, failed_calls FROM nova.breakers WHERE name = 'regress_time';
SELECT nova._breaker_clock_advance('2 min');
SELECT calls, failed_calls FROM nova.breakers WHERE name = 'regress_time';
SELECT nova.breaker_record('regress_time', false);  -- 1 call in the window: below the minimum
SELECT state, calls FROM nova.breakers WHERE name = 'regress_time';

-- A breaker used without configuration has resilience4j's defaults.
SELECT nova.breaker_force('regress_plain', 'closed');
SELECT nova.breaker_allow('regress_plain');
SELECT config->>'sliding_window_type' AS type, config->>'sliding_window_size' AS size,
       config->>'minimum_number_of_calls' AS min_calls, config->>'failure_rate_threshold' AS rate,
       config->>'wait_duration_in_open_state' AS wait, config->>'permitted_calls_in_half_open_state' AS permits
  FROM nova.breakers WHERE name = 'regress_plain';
-- resilience4j's longer option names are accepted too.
SELECT nova.breaker_configure('regress_plain', '{"slow_call_duration_threshold": "2 s",
  "permitted_number_of_calls_in_half_open_state": 3}');
SELECT config->>'slow_call_duration' AS slow, config->>'permitted_calls_in_half_open_state' AS permits
  FROM nova.breakers WHERE name = 'regress_plain';

-- Forcing: the accepted words, case-insensitive.
SELECT nova.breaker_force('regress_a', 'OPEN');
SELECT state, nova.breaker_allow('regress_a') AS allowed, next_attempt_at IS NULL AS no_timer
  FROM nova.breakers WHERE name = 'regress_a';
SELECT nova._breaker_clock_advance('1 day');
SELECT nova.breaker_allow('regress_a') AS still_refused;
SELECT nova.breaker_force('regress_a', 'disabled');
SELECT nova.breaker_allow('regress_a'), nova.breaker_record('regress_a', false), nova.breaker_record('regress_a', false);
SELECT nova.breaker_force('regress_a', 'Metrics_Only');
SELECT nova.breaker_record('regress_a', false), nova.breaker_record('regress_a', false), nova.breaker_record('regress_a', false);
SELECT state, calls, failure_rate FROM nova.breakers WHERE name = 'regress_a';
SELECT nova.breaker_force('regress_a', 'half_open');
SELECT state FROM nova.breakers WHERE name = 'regress_a';
SELECT nova.breaker_force('regress_a', 'forced_open');
SELECT state FROM nova.breakers WHERE name = 'regress_a';
SELECT nova.breaker_force('regress_a', 'closed');
SELECT state, calls, not_permitted_calls FROM nova.breakers WHERE name = 'regress_a';
SELECT nova.breaker_force('regress_a', 'ajar');
\echo :LAST_ERROR_SQLSTATE

-- Option validation: unknown names and out-of-range values are 22023 naming the option.
SELECT nova.breaker_configure('regress_bad', '{"failure_rate": 50}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"failure_rate_threshold": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"failure_rate_threshold": 100.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"slow_call_rate_threshold": "50"}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"slow_call_duration": 500}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"slow_call_duration": "fast"}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"wait_duration_in_open_state": "-1 s"}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"wait_duration_in_open_state": "1 year"}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"sliding_window_type": "sliding"}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"sliding_window_size": 1001}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"sliding_window_type": "TIME_BASED", "sliding_window_size": 301}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"minimum_number_of_calls": 1.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"permitted_calls_in_half_open_state": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"consecutive_failures_threshold": -1}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"exponential_backoff_multiplier": 0.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"randomized_wait_factor": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '{"slow_call_duration": "1 s", "slow_call_duration_threshold": "2 s"}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', '[1, 2]');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure('regress_bad', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS stored_bad FROM nova.breaker_config WHERE name = 'regress_bad';

-- Names: 1 to 63 bytes.
SELECT nova.breaker_allow('');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_allow(repeat('x', 64));
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_configure(repeat('x', 64), '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_allow(NULL) IS NULL AS strict_null;
-- Record: name and outcome are required, durations are not negative.
SELECT nova.breaker_record(NULL, true);
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_record('regress_a', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_record('regress_a', true, '-1 s');
\echo :LAST_ERROR_SQLSTATE

-- Configuration is transactional: it takes effect at commit, and not at all on rollback.
BEGIN;
SELECT nova.breaker_configure('regress_a', '{"sliding_window_size": 7}');
SELECT config->>'sliding_window_size' AS before_commit FROM nova.breakers WHERE name = 'regress_a';
ROLLBACK;
SELECT config->>'sliding_window_size' AS after_rollback, (SELECT options->>'sliding_window_size'
  FROM nova.breaker_config WHERE name = 'regress_a') AS stored FROM nova.breakers WHERE name = 'regress_a';
BEGIN;
SELECT nova.breaker_configure('regress_a', '{"sliding_window_size": 8}');
SAVEPOINT s;
SELECT nova.breaker_configure('regress_a', '{"sliding_window_size": 9}');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT config->>'sliding_window_size' AS committed, (SELECT options->>'sliding_window_size'
  FROM nova.breaker_config WHERE name = 'regress_a') AS stored FROM nova.breakers WHERE name = 'regress_a';
-- Reconfiguring keeps the state.
SELECT nova.breaker_force('regress_a', 'open');
SELECT nova.breaker_configure('regress_a', '{"sliding_window_size": 4}');
SELECT state FROM nova.breakers WHERE name = 'regress_a';
SELECT nova.breaker_force('regress_a', 'closed');

-- The test clock: superusers only, forward only.
SELECT nova._breaker_clock_advance('-1 s');
\echo :LAST_ERROR_SQLSTATE

-- Privileges: services may allow, record and read the view; nothing else.
CREATE ROLE regress_breaker_svc IN ROLE nova_service;
CREATE ROLE regress_breaker_nobody;
SET ROLE regress_breaker_svc;
SELECT nova.breaker_allow('regress_a'), nova.breaker_record('regress_a', true);
SELECT count(*) > 0 AS sees_view FROM nova.breakers;
SELECT nova.breaker_configure('regress_a', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_force('regress_a', 'open');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM nova.breaker_config;
\echo :LAST_ERROR_SQLSTATE
SELECT nova._breaker_clock_advance('1 s');
\echo :LAST_ERROR_SQLSTATE
-- Reserved names: `kafka` (the relay's breaker) and `nova.*` are for superusers and
-- the extension owner; a service gets 42501 and no breaker changes or appears.
SELECT nova.breaker_record('kafka', false);
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_allow('kafka');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.breaker_record('nova.anything', false);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS reserved_breakers FROM nova.breakers WHERE name = 'kafka' OR name LIKE 'nova.%';
-- Ten times the slot count of junk names never exhausts the table: idle breakers
-- are reclaimed, configured ones are kept.
SELECT count(*) AS junk_allowed FROM generate_series(1, 2560) i WHERE nova.breaker_allow('regress_junk_' || i);
SELECT count(*) AS junk_failed FROM generate_series(1, 2560) i, LATERAL nova.breaker_record('regress_junkf_' || i, false) r;
SELECT nova.breaker_allow('regress_legit') AS legit_allowed;
SELECT count(*) <= 256 AS bounded, count(*) FILTER (WHERE name = 'regress_a') AS configured_kept
  FROM nova.breakers;
SET ROLE regress_breaker_nobody;
SELECT nova.breaker_allow('regress_a');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM nova.breakers;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE regress_breaker_svc;
DROP ROLE regress_breaker_nobody;

-- An administrator may use the reserved names (here, in a database without the relay).
SELECT nova.breaker_allow('nova.regress') AS admin_allowed;
SELECT nova.breaker_force('nova.regress', 'closed');

-- Cleanup: breakers live in shared memory until restart; reset them and drop their configuration.
SELECT nova.breaker_force(name, 'closed') FROM nova.breakers
 WHERE name LIKE 'regress\_%' AND name NOT LIKE 'regress\_junk%' ORDER BY name;
DELETE FROM nova.breaker_config WHERE name LIKE 'regress\_%';
