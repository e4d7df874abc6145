-- What the service's request prelude needs in the database (docs/service.md, "One
-- request = one transaction = one round trip"). The prelude itself is one prepared
-- statement the service sends pipelined with the endpoint's statement
-- (examples/service/api.cpp, prelude_sql): it sets the correlation id and W3C trace
-- context (SET LOCAL), calls nova.authenticate(bearer token), and counts the request
-- in nova's shared cache (so every replica shares the limit; the pattern of
-- docs/cache.md). Only over the limit does it call svc.rate_limited, which raises
-- 53400; the service answers 429 and the statement after it never runs, so a
-- refused request writes nothing.
--   psql -d nova -v role=posts_api -f examples/service/service.sql
CREATE SCHEMA IF NOT EXISTS svc;

-- Declared to return text (the prelude's result type) but never returns.
CREATE OR REPLACE FUNCTION svc.rate_limited(rate_limit bigint)
RETURNS text LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION 'rate limit exceeded' USING ERRCODE = '53400',
    DETAIL = format('More than %s requests this second.', rate_limit);
END $$;

REVOKE ALL ON FUNCTION svc.rate_limited(bigint) FROM PUBLIC;
GRANT USAGE ON SCHEMA svc TO :"role";
GRANT EXECUTE ON FUNCTION svc.rate_limited(bigint) TO :"role";
