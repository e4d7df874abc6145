-- What the service's database role needs on the sample schema (examples/nova_schema.sql),
-- beyond nova_service (authenticate, cache, breakers, status). DELETE on posts and
-- comments is a soft delete (nova's triggers turn it into deleted_at/deleted_by and
-- run their UPDATE as the table owner); nova.restore runs with the caller's
-- privileges, hence UPDATE of the deleted_ columns. No writes to users.
-- The active_ views are security_invoker and select every column, so reading
-- active_users needs SELECT on all of users (email, password_hash included): a
-- service that must not see those columns gets its own narrower view instead.
--   psql -v role=posts_api -f examples/service/grants.sql
GRANT SELECT ON public.users TO :"role";
GRANT SELECT ON public.active_users TO :"role";
GRANT SELECT, INSERT, DELETE ON public.posts, public.comments TO :"role";
GRANT UPDATE (deleted_at, deleted_by, deleted_op) ON public.posts, public.comments TO :"role";
GRANT SELECT, INSERT, DELETE ON public.active_posts, public.active_comments TO :"role";
GRANT SELECT, INSERT ON public.follows TO :"role";
