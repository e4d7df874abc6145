// Default entity names and topic validation of the outbox.
#include <gtest/gtest.h>

#include "core/outbox_names.h"

using nova::outbox::entity_name;
using nova::outbox::entity_problem;
using nova::outbox::topic_problem;

TEST(OutboxNames, SingularCamelCase) {
  EXPECT_EQ(entity_name("posts"), "Post");
  EXPECT_EQ(entity_name("comments"), "Comment");
  EXPECT_EQ(entity_name("user_follows"), "UserFollow");
  EXPECT_EQ(entity_name("replies"), "Reply");
  EXPECT_EQ(entity_name("addresses"), "Address");
  EXPECT_EQ(entity_name("users"), "User");
  EXPECT_EQ(entity_name("follows"), "Follow");
  EXPECT_EQ(entity_name("likes"), "Like");
  EXPECT_EQ(entity_name("messages"), "Message");
  EXPECT_EQ(entity_name("notifications"), "Notification");
  EXPECT_EQ(entity_name("conversation_members"), "ConversationMember");
  EXPECT_EQ(entity_name("categories"), "Category");
  EXPECT_EQ(entity_name("boxes"), "Box");
  EXPECT_EQ(entity_name("matches"), "Match");
  EXPECT_EQ(entity_name("people"), "Person");
  EXPECT_EQ(entity_name("statuses"), "Status");
  EXPECT_EQ(entity_name("status"), "Status");
  EXPECT_EQ(entity_name("news"), "News");
  EXPECT_EQ(entity_name("movies"), "Movie");
}

TEST(OutboxNames, OnlyLastWordIsSingular) {
  EXPECT_EQ(entity_name("users_posts"), "UsersPost");
  EXPECT_EQ(entity_name("post_categories"), "PostCategory");
}

TEST(OutboxNames, KeepsSingularAndShortWords) {
  EXPECT_EQ(entity_name("user"), "User");
  EXPECT_EQ(entity_name("inbox"), "Inbox");
  EXPECT_EQ(entity_name("as"), "As");
  EXPECT_EQ(entity_name("s"), "S");
  EXPECT_EQ(entity_name("ies"), "Ies");
}

TEST(OutboxNames, CaseAndSeparators) {
  EXPECT_EQ(entity_name("UserPosts"), "UserPost");
  EXPECT_EQ(entity_name("user__follows_"), "UserFollow");
  EXPECT_EQ(entity_name("Replies"), "Reply");
  EXPECT_EQ(entity_name("PEOPLE"), "Person");
  EXPECT_EQ(entity_name("order-items"), "OrderItem");
  EXPECT_EQ(entity_name("___"), "");
  EXPECT_EQ(entity_name(""), "");
}

TEST(OutboxNames, Topics) {
  EXPECT_EQ(topic_problem("nova.posts"), nullptr);
  EXPECT_EQ(topic_problem("a-b_c.D9"), nullptr);
  EXPECT_NE(topic_problem(""), nullptr);
  EXPECT_NE(topic_problem(nullptr), nullptr);
  EXPECT_NE(topic_problem("."), nullptr);
  EXPECT_NE(topic_problem(".."), nullptr);
  EXPECT_NE(topic_problem("has space"), nullptr);
  EXPECT_NE(topic_problem("ünïcode"), nullptr);
  EXPECT_EQ(topic_problem(std::string(249, 'a').c_str()), nullptr);
  EXPECT_NE(topic_problem(std::string(250, 'a').c_str()), nullptr);
}

TEST(OutboxNames, Entities) {
  EXPECT_EQ(entity_problem("Post"), nullptr);
  EXPECT_EQ(entity_problem("_X9"), nullptr);
  EXPECT_NE(entity_problem(""), nullptr);
  EXPECT_NE(entity_problem("9Post"), nullptr);
  EXPECT_NE(entity_problem("Post Created"), nullptr);
  EXPECT_NE(entity_problem("Pöst"), nullptr);
  EXPECT_NE(entity_problem(std::string(101, 'A').c_str()), nullptr);
}
