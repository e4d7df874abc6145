-- ---------------------------------------------------------------------------
-- Publish grants (docs/security.md, docs/outbox.md "Who may publish"): which
-- roles may call nova.publish for which topics. Maintained with
-- nova.grant_publish / nova.revoke_publish; read by nova.publish as the
-- extension owner. Superusers and the extension owner need no grant.
-- ---------------------------------------------------------------------------
CREATE TABLE nova.publish_grants (
  grantee       regrole     NOT NULL,
  topic_pattern text        NOT NULL CHECK (topic_pattern OPERATOR(pg_catalog.<>) ''),  -- LIKE pattern
  granted_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (grantee, topic_pattern)
);
SELECT pg_catalog.pg_extension_config_dump('nova.publish_grants', '');
