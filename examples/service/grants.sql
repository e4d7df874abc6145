-- What the service's database role needs on the sample schema (examples/nova_schema.sql),
-- beyond nova_service (authenticate, cache, breakers, status). Least privilege: no
-- hard DELETE on posts or comments (deletes go through the active_ views, whose
-- INSTEAD OF trigger turns them into soft deletes), no access to e-mail or password columns.
--   psql -v role=posts_api -f examples/service/grants.sql
GRANT SELECT (id, username, display_name, deleted_at) ON public.users TO :"role";
GRANT SELECT ON public.active_users TO :"role";
GRANT SELECT, INSERT ON public.posts, public.comments TO :"role";
GRANT UPDATE (deleted_at, deleted_by, deleted_op) ON public.posts, public.comments TO :"role";
GRANT SELECT, INSERT, DELETE ON public.active_posts, public.active_comments TO :"role";
GRANT SELECT, INSERT ON public.follows TO :"role";
