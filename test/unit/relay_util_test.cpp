// The relay's plain-C++ rules: kafka_config parsing, compact JSON, backoff.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/relay_util.h"

using nova::relay::backoff_ms;
using nova::relay::compact_json;
using nova::relay::parse_kafka_config;

TEST(KafkaConfig, ParsesPairsTrimsAndUnescapes) {
  auto c = parse_kafka_config(" security.protocol = SASL_SSL ;sasl.password=a\\;b=c;; linger.ms=5;");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].first, "security.protocol");
  EXPECT_EQ(c[0].second, "SASL_SSL");
  EXPECT_EQ(c[1].first, "sasl.password");
  EXPECT_EQ(c[1].second, "a;b=c");
  EXPECT_EQ(c[2].second, "5");
  EXPECT_TRUE(parse_kafka_config("").empty());
  EXPECT_TRUE(parse_kafka_config(" ; ").empty());
}

TEST(KafkaConfig, RejectsBadItemsWithoutLeakingValues) {
  for (const char *bad : {"novalue", "=x", "a b=1", "x=1;x=2", "acks=1", "enable.idempotence=false",
                          "bootstrap.servers=h:1", "partitioner=random"}) {
    try {
      parse_kafka_config(std::string("sasl.password=hunter2;") + bad);
      ADD_FAILURE() << bad;
    } catch (const nova::Error &e) {
      EXPECT_STREQ(e.sqlstate(), "22023");
      EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
      EXPECT_EQ(e.detail().find("hunter2"), std::string::npos);
    }
  }
}

TEST(KafkaConfig, SecretNames) {
  EXPECT_TRUE(nova::relay::is_secret_property("sasl.password"));
  EXPECT_TRUE(nova::relay::is_secret_property("ssl.key.pem"));
  EXPECT_TRUE(nova::relay::is_secret_property("sasl.oauthbearer.client.secret"));
  EXPECT_FALSE(nova::relay::is_secret_property("linger.ms"));
}

TEST(CompactJson, RemovesWhitespaceOutsideStrings) {
  std::string in = R"({"a": 1, "b": [1, 2, {"c": "x, y: \"z\" \\"}], "d": null})";
  EXPECT_EQ(compact_json(in.data(), in.size()), R"({"a":1,"b":[1,2,{"c":"x, y: \"z\" \\"}],"d":null})");
  std::string s = R"("  spaced  ")";
  EXPECT_EQ(compact_json(s.data(), s.size()), s);
}

TEST(Backoff, DoublesAndCaps) {
  EXPECT_DOUBLE_EQ(backoff_ms(1, 1.0), 100.0);
  EXPECT_DOUBLE_EQ(backoff_ms(2, 1.0), 200.0);
  EXPECT_DOUBLE_EQ(backoff_ms(11, 1.0), 60000.0);
  EXPECT_DOUBLE_EQ(backoff_ms(1000, 1.0), 60000.0);
  EXPECT_DOUBLE_EQ(backoff_ms(0, 5.0), 100.0);
  EXPECT_NEAR(backoff_ms(3, 1.19), 476.0, 1e-9);
}
