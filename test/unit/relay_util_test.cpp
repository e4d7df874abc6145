// The relay's plain-C++ rules: kafka_config parsing, backoff.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/relay_util.h"

#include <librdkafka/rdkafka.h>

using nova::relay::backoff_ms;
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

TEST(Backoff, DoublesAndCaps) {
  EXPECT_DOUBLE_EQ(backoff_ms(1, 1.0), 100.0);
  EXPECT_DOUBLE_EQ(backoff_ms(2, 1.0), 200.0);
  EXPECT_DOUBLE_EQ(backoff_ms(11, 1.0), 60000.0);
  EXPECT_DOUBLE_EQ(backoff_ms(1000, 1.0), 60000.0);
  EXPECT_DOUBLE_EQ(backoff_ms(0, 5.0), 100.0);
  EXPECT_NEAR(backoff_ms(3, 1.19), 476.0, 1e-9);
}

// Which delivery failures spend attempts (docs/relay.md): an outage never does.
TEST(DeliveryErrors, OutagesNeverSpendAttempts) {
  using nova::relay::classify_delivery_error;
  using nova::relay::FailureClass;
  for (rd_kafka_resp_err_t e :
       {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TRANSPORT,
        RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR__RESOLVE, RD_KAFKA_RESP_ERR__PURGE_QUEUE,
        RD_KAFKA_RESP_ERR__PURGE_INFLIGHT, RD_KAFKA_RESP_ERR__FATAL})
    EXPECT_EQ(classify_delivery_error(e), FailureClass::kBroker) << static_cast<int>(e);
}

TEST(DeliveryErrors, MessageLevelErrorsSpendAttempts) {
  using nova::relay::classify_delivery_error;
  using nova::relay::FailureClass;
  EXPECT_EQ(classify_delivery_error(RD_KAFKA_RESP_ERR_NO_ERROR), FailureClass::kDelivered);
  for (rd_kafka_resp_err_t e : {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
                                RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR_INVALID_MSG,
                                RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE})
    EXPECT_EQ(classify_delivery_error(e), FailureClass::kPoison) << static_cast<int>(e);
  for (rd_kafka_resp_err_t e : {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION,
                                RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART})
    EXPECT_EQ(classify_delivery_error(e), FailureClass::kMessage) << static_cast<int>(e);
  // Unknown codes count as message-level: one strange message must not stop every key.
  EXPECT_EQ(classify_delivery_error(987654), FailureClass::kMessage);
  EXPECT_STREQ(nova::relay::failure_class_name(FailureClass::kBroker), "broker");
}
