-- The sample Nova schema: a small social network (docs/deployment.md).
-- Users follow each other, write posts, comment and like, talk in
-- conversations and get notifications. Every table publishes its changes
-- through nova's transactional outbox (topic nova.<table>, e.g. nova.posts with
-- events PostCreated / PostUpdated / PostDeleted). Soft delete is added by
-- examples/nova_soft_delete.sql (a separate step), not here.
--
-- Load into a database where `CREATE EXTENSION nova` has run:
--   psql -d nova -f examples/nova_schema.sql

CREATE TABLE users (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username      text        NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_]{3,30}$'),
  display_name  text        NOT NULL,
  email         text        NOT NULL UNIQUE,
  password_hash text,                                  -- never leaves the database (excluded below)
  bio           text        NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE follows (
  follower_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  followee_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (follower_id, followee_id),
  CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_followee_idx ON follows (followee_id);  -- "who follows me"

CREATE TABLE posts (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  author_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  body        text        NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
  visibility  text        NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'followers', 'private')),
  reply_to_id bigint      REFERENCES posts (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX posts_author_created_idx ON posts (author_id, created_at DESC);  -- profile timeline
CREATE INDEX posts_reply_to_idx ON posts (reply_to_id) WHERE reply_to_id IS NOT NULL;

CREATE TABLE comments (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  post_id    bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  author_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  body       text        NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_post_created_idx ON comments (post_id, created_at);
CREATE INDEX comments_author_idx ON comments (author_id);

CREATE TABLE likes (
  user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  post_id    bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, post_id)
);
CREATE INDEX likes_post_idx ON likes (post_id);

CREATE TABLE conversations (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  title      text,
  created_by bigint      REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE conversation_members (
  conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  user_id         bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  joined_at       timestamptz NOT NULL DEFAULT now(),
  last_read_at    timestamptz,
  PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user_idx ON conversation_members (user_id);  -- "my conversations"

CREATE TABLE messages (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  sender_id       bigint      REFERENCES users (id) ON DELETE SET NULL,
  body            text        NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation_created_idx ON messages (conversation_id, created_at);

CREATE TABLE notifications (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,  -- who is notified
  kind       text        NOT NULL CHECK (kind IN ('follow', 'like', 'comment', 'message', 'mention')),
  actor_id   bigint      REFERENCES users (id) ON DELETE CASCADE,           -- who caused it
  post_id    bigint      REFERENCES posts (id) ON DELETE CASCADE,
  data       jsonb       NOT NULL DEFAULT '{}',
  read_at    timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_unread_idx ON notifications (user_id, created_at DESC) WHERE read_at IS NULL;

-- Every change becomes an event (topic nova.<table>, key = primary key).
SELECT nova.enable_outbox('users', exclude_columns => '{password_hash, email}');
SELECT nova.enable_outbox('follows');               -- key: [follower_id, followee_id]
SELECT nova.enable_outbox('posts');
SELECT nova.enable_outbox('comments');
SELECT nova.enable_outbox('likes');                 -- key: [user_id, post_id]
SELECT nova.enable_outbox('conversations');
SELECT nova.enable_outbox('conversation_members');  -- entity ConversationMember
SELECT nova.enable_outbox('messages');
SELECT nova.enable_outbox('notifications');

-- Soft delete (users, posts, comments, messages) with owner columns for GDPR erasure.
\ir nova_soft_delete.sql
