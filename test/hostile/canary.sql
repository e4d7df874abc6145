-- The hostile stage's canary (tools/test.sh hostile): a function in schema nova
-- that calls length() unqualified, without a pinned search_path, resolves to
-- hostile.length, and the stage requires that shadow to be reported from
-- "PL/pgSQL function nova._hostile_canary()". If it is not, the detector is
-- broken and a clean stage would prove nothing. The canary's own report is then
-- left out of the stage's list of hits.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE FUNCTION nova._hostile_canary() RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  RETURN length('canary'::pg_catalog.text);
END
$$;
SELECT nova._hostile_canary();
DROP FUNCTION nova._hostile_canary();
