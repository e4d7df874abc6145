-- --mode plain: the sample schema's tables without nova (no outbox, no soft delete),
-- plus plain views under the names nova's soft delete creates, so both modes run the
-- same SQL text. DELETE through them is a hard DELETE that cascades by foreign key.
CREATE VIEW public.active_users AS SELECT * FROM public.users;
CREATE VIEW public.active_posts AS SELECT * FROM public.posts;
CREATE VIEW public.active_comments AS SELECT * FROM public.comments;
