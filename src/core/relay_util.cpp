// Plain-C++ pieces of the relay; see relay_util.h.
#define NOVA_CORE_TRANSLATION_UNIT
#include "core/relay_util.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_set>

#include <librdkafka/rdkafka.h>  // the rd_kafka_resp_err_t codes only (no calls)

#include "core/error.h"

namespace nova::relay {

namespace {

std::string trim(const std::string &s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r')) b++;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r')) e--;
  return s.substr(b, e - b);
}

bool valid_name(const std::string &k) {
  if (k.empty() || k.size() > 128) return false;
  for (char c : k) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

// Properties the relay sets itself: overriding them would break its guarantees.
const std::set<std::string> &reserved() {
  static const std::set<std::string> r = {
      "bootstrap.servers", "metadata.broker.list", "enable.idempotence", "acks", "request.required.acks",
      "partitioner", "dr_cb", "dr_msg_cb", "error_cb", "log_cb", "opaque", "enable.gapless.guarantee",
      "max.in.flight", "max.in.flight.requests.per.connection"};
  return r;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_kafka_config(const std::string &text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unordered_set<std::string> seen;
  // Split on unescaped ';', unescaping \; and \\ .
  std::vector<std::string> items;
  std::string cur;
  for (size_t i = 0; i < text.size(); i++) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size() && (text[i + 1] == ';' || text[i + 1] == '\\')) {
      cur.push_back(text[++i]);
    } else if (c == ';') {
      items.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  items.push_back(cur);
  int n = 0;
  for (const std::string &raw : items) {
    n++;
    if (trim(raw).empty()) continue;
    size_t eq = raw.find('=');
    if (eq == std::string::npos)
      throw Error(sqlstate::kInvalidParameterValue, "invalid nova.kafka_config: item " + std::to_string(n) +
                                                        " is not of the form key=value");
    std::string key = trim(raw.substr(0, eq));
    std::string value = trim(raw.substr(eq + 1));
    if (!valid_name(key))
      throw Error(sqlstate::kInvalidParameterValue,
                  "invalid nova.kafka_config: item " + std::to_string(n) + " has an invalid property name",
                  "Property names consist of letters, digits, '.', '_' and '-'.");
    if (reserved().count(key))
      throw Error(sqlstate::kInvalidParameterValue,
                  "invalid nova.kafka_config: property \"" + key + "\" is set by the relay",
                  "The relay always uses nova.kafka_brokers, enable.idempotence=true, acks=all and "
                  "partitioner=murmur2_random.");
    if (!seen.insert(key).second)
      throw Error(sqlstate::kInvalidParameterValue,
                  "invalid nova.kafka_config: property \"" + key + "\" is given more than once");
    out.emplace_back(key, value);
  }
  return out;
}

bool is_secret_property(const std::string &name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char *w : {"password", "secret", "key", "token", "jaas", "credential", "pem"})
    if (n.find(w) != std::string::npos) return true;
  return false;
}

double backoff_ms(int attempts, double jitter) {
  if (attempts < 1) attempts = 1;
  double base = attempts > 20 ? 60000.0 : 100.0 * std::pow(2.0, attempts - 1);
  base = std::min(base, 60000.0);
  if (!(jitter >= 0.8 && jitter < 1.2)) jitter = 1.0;
  return base * jitter;
}

FailureClass classify_delivery_error(int code) noexcept {
  switch (static_cast<rd_kafka_resp_err_t>(code)) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return FailureClass::kDelivered;

    // The message can never be accepted as it is.
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return FailureClass::kPoison;

    // Kafka says nothing about the message: no broker, no leader, not enough
    // replicas, a timeout, a transport or client-state problem, or we purged it.
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__FAIL:
    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__STATE:
    case RD_KAFKA_RESP_ERR__RETRY:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__INCONSISTENT:
    case RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    case RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
    case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS:
      return FailureClass::kBroker;

    // About this message's topic: an operator may fix it (ACLs, create the topic).
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_COMPRESSION_TYPE:
    default:
      return FailureClass::kMessage;
  }
}

const char *failure_class_name(FailureClass c) noexcept {
  switch (c) {
    case FailureClass::kDelivered: return "delivered";
    case FailureClass::kBroker: return "broker";
    case FailureClass::kMessage: return "message";
    case FailureClass::kPoison: return "poison";
  }
  return "message";
}

}  // namespace nova::relay
