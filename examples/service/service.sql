-- The service's request prelude as one SQL function, so that a request is one round
-- trip: BEGIN; SELECT svc.begin_request(…); <the statement>; COMMIT (pipelined).
-- It does, in this order, what docs/service.md lists per request: the correlation id
-- and W3C trace context (SET LOCAL), nova.authenticate(bearer token), and the rate
-- limit counted in nova's shared cache (so every replica shares it; the pattern of
-- docs/cache.md). Over the limit it raises 53400, which the service answers with 429:
-- the statement after it never runs, so a refused request writes nothing.
--   psql -d nova -v role=posts_api -f examples/service/service.sql
CREATE SCHEMA IF NOT EXISTS svc;

CREATE OR REPLACE FUNCTION svc.begin_request(correlation_id text, traceparent text, tracestate text,
                                             token text, rate_limit bigint)
RETURNS text LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  sub text;
  n bigint;
BEGIN
  -- is_local => true: like SET LOCAL, ends with the transaction (the function's own
  -- SET clause only covers search_path).
  PERFORM set_config('nova.correlation_id', correlation_id, true);
  IF traceparent IS NOT NULL THEN
    PERFORM set_config('nova.traceparent', traceparent, true);
    -- nova.tracestate exists from nova 1.1 on; older builds ignore the header.
    IF tracestate IS NOT NULL AND current_setting('nova.tracestate', true) IS NOT NULL THEN
      PERFORM set_config('nova.tracestate', tracestate, true);
    END IF;
  END IF;
  sub := nova.authenticate(token) ->> 'sub';   -- 28000 on any bad token
  IF rate_limit > 0 THEN
    n := nova.cache_incr('svc:rate:' || sub || ':' || floor(extract(epoch FROM now()))::bigint,
                         1, interval '2 seconds');
    IF n > rate_limit THEN
      RAISE EXCEPTION 'rate limit exceeded' USING ERRCODE = '53400',
        DETAIL = format('%s requests this second, the limit is %s', n, rate_limit);
    END IF;
  END IF;
  RETURN sub;
END $$;

REVOKE ALL ON FUNCTION svc.begin_request(text, text, text, text, bigint) FROM PUBLIC;
GRANT USAGE ON SCHEMA svc TO :"role";
GRANT EXECUTE ON FUNCTION svc.begin_request(text, text, text, text, bigint) TO :"role";
