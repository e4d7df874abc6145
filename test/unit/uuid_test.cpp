// The one UUIDv4 generator (src/core/uuid.h).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>

#include "core/uuid.h"

namespace u = nova::uuid;

namespace {
int g_calls = 0;
bool counting_source(void *buf, size_t len) {
  g_calls++;
  std::memset(buf, 0xab, len);
  return true;
}
bool failing_source(void *, size_t) { return false; }
}  // namespace

TEST(Uuid, TextFormVersionAndVariant) {
  char s[37];
  ASSERT_TRUE(u::v4_text(s));
  ASSERT_EQ(std::strlen(s), 36u);
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23)
      EXPECT_EQ(s[i], '-');
    else
      EXPECT_TRUE((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')) << s;
  }
  EXPECT_EQ(s[14], '4');
  EXPECT_NE(std::strchr("89ab", s[19]), nullptr) << s;
}

TEST(Uuid, FormatIsCanonical) {
  const uint8_t b[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  char s[37];
  u::format(b, s);
  EXPECT_STREQ(s, "12345678-9abc-def0-0123-456789abcdef");
}

TEST(Uuid, NoRepeatsAcrossManyRefills) {
  std::set<std::string> seen;
  char s[37];
  for (int i = 0; i < 20000; i++) {
    ASSERT_TRUE(u::v4_text(s));
    ASSERT_TRUE(seen.insert(s).second) << "repeated " << s;
  }
}

TEST(Uuid, OneCsprngCallPerBuffer) {
  u::set_random_source(counting_source);
  uint8_t b[16];
  const int per_buffer = static_cast<int>(u::kBufferBytes / 16);
  for (int i = 0; i < per_buffer; i++) ASSERT_TRUE(u::v4(b));
  EXPECT_EQ(g_calls, 1);
  ASSERT_TRUE(u::v4(b));
  EXPECT_EQ(g_calls, 2);
  EXPECT_EQ(b[6], 0x4b);  // version bits forced onto 0xab
  EXPECT_EQ(b[8], 0xab);  // 0xab already has the 10xx variant
  u::set_random_source(nullptr);
}

TEST(Uuid, CsprngFailureIsReported) {
  u::set_random_source(failing_source);
  uint8_t b[16];
  char s[37];
  EXPECT_FALSE(u::v4(b));
  EXPECT_FALSE(u::v4_text(s));
  u::set_random_source(nullptr);
  EXPECT_TRUE(u::v4(b));
}

// A forked child (a backend forked from the postmaster) must not hand out the
// bytes its parent has buffered: the parent's next UUID and the child's first
// must differ.
TEST(Uuid, ForkedChildDoesNotReuseParentBuffer) {
  uint8_t warm[16];
  ASSERT_TRUE(u::v4(warm));  // the parent now holds a partly used buffer
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char s[37];
    bool ok = u::v4_text(s);
    ssize_t w = write(fds[1], ok ? s : "fail", ok ? 36 : 4);
    _exit(w > 0 ? 0 : 1);
  }
  close(fds[1]);
  char child[37] = {0};
  ssize_t n = read(fds[0], child, 36);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_EQ(n, 36) << child;
  char parent[37];
  ASSERT_TRUE(u::v4_text(parent));
  EXPECT_STRNE(parent, child);
}
