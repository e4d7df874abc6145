// nova::Error carries a valid five-character SQLSTATE whatever it is given.
#include <gtest/gtest.h>

#include "core/error.h"

TEST(Error, KeepsSqlstateMessageDetailHint) {
  nova::Error e(nova::sqlstate::kInvalidAuthorization, "jwt expired", "d", "h");
  EXPECT_STREQ(e.sqlstate(), "28000");
  EXPECT_STREQ(e.what(), "jwt expired");
  EXPECT_EQ(e.detail(), "d");
  EXPECT_EQ(e.hint(), "h");
}

TEST(Error, ShortOrNullSqlstateIsPaddedToInternal) {
  EXPECT_STREQ(nova::Error(nullptr, "x").sqlstate(), "XXXXX");
  EXPECT_STREQ(nova::Error("22", "x").sqlstate(), "22XXX");
}
