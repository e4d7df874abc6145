-- ---------------------------------------------------------------------------
-- Publish grants (docs/security.md): nova.publish needs a grant whose LIKE
-- pattern matches the topic. Only the extension owner and superusers manage
-- them (the functions are not granted to anyone; they write
-- nova.publish_grants with the caller's rights).
-- ---------------------------------------------------------------------------
REVOKE ALL ON nova.publish_grants FROM PUBLIC;
COMMENT ON TABLE nova.publish_grants IS
  'Which roles may call nova.publish for which topics (LIKE patterns); maintained by nova.grant_publish() / nova.revoke_publish().';

CREATE OR REPLACE FUNCTION nova.grant_publish(grantee regrole, topic_pattern text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_variable
BEGIN
  IF grantee IS NULL OR topic_pattern IS NULL THEN
    RAISE EXCEPTION 'grantee and topic_pattern must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF topic_pattern OPERATOR(pg_catalog.=) '' THEN
    RAISE EXCEPTION 'topic_pattern must not be empty' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Use ''%'' for every topic.';
  END IF;
  INSERT INTO nova.publish_grants AS g (grantee, topic_pattern) VALUES (grant_publish.grantee, grant_publish.topic_pattern)
  ON CONFLICT ON CONSTRAINT publish_grants_pkey DO NOTHING;
END
$fn$;
COMMENT ON FUNCTION nova.grant_publish(regrole, text) IS
  'Allow a role (and the roles that have its privileges) to nova.publish to topics matching a LIKE pattern.';

CREATE OR REPLACE FUNCTION nova.revoke_publish(grantee regrole, topic_pattern text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_variable
BEGIN
  IF grantee IS NULL OR topic_pattern IS NULL THEN
    RAISE EXCEPTION 'grantee and topic_pattern must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  DELETE FROM nova.publish_grants g
   WHERE g.grantee OPERATOR(pg_catalog.=) revoke_publish.grantee
     AND g.topic_pattern OPERATOR(pg_catalog.=) revoke_publish.topic_pattern;
  IF NOT FOUND THEN
    RAISE NOTICE 'role "%" has no publish grant for "%", skipping', grantee, topic_pattern;
  END IF;
END
$fn$;
COMMENT ON FUNCTION nova.revoke_publish(regrole, text) IS
  'Remove a publish grant made with nova.grant_publish (the same role and pattern).';

REVOKE ALL ON FUNCTION nova.grant_publish(regrole, text), nova.revoke_publish(regrole, text) FROM PUBLIC;
