-- ---------------------------------------------------------------------------
-- Correlation (docs/correlation.md): the current transaction's correlation id and trace
-- context. Services SET LOCAL nova.correlation_id / nova.traceparent, or pass
-- them as PostgREST request.headers; otherwise an id is generated per transaction.
-- VOLATILE: the value may change with SET LOCAL inside a transaction.
-- PARALLEL RESTRICTED: a generated id lives in the leader's memory.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION nova.correlation_id() RETURNS text
  LANGUAGE c VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'nova_correlation_id';
COMMENT ON FUNCTION nova.correlation_id() IS
  'Correlation id of the current transaction: nova.correlation_id, else request.headers x-correlation-id / x-request-id, else a UUID generated once per transaction.';

CREATE OR REPLACE FUNCTION nova.traceparent() RETURNS text
  LANGUAGE c VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'nova_traceparent';
COMMENT ON FUNCTION nova.traceparent() IS
  'W3C traceparent supplied by the service (nova.traceparent, else request.headers traceparent), else NULL.';

CREATE OR REPLACE FUNCTION nova.tracestate() RETURNS text
  LANGUAGE c VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'nova_tracestate';
COMMENT ON FUNCTION nova.tracestate() IS
  'W3C tracestate supplied by the service (nova.tracestate, else request.headers tracestate), else NULL.';

-- Harmless and useful to every caller (services log them).
GRANT EXECUTE ON FUNCTION nova.correlation_id(), nova.traceparent(), nova.tracestate() TO PUBLIC;
