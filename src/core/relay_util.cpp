// Plain-C++ pieces of the relay; see relay_util.h.
#define NOVA_CORE_TRANSLATION_UNIT
#include "core/relay_util.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_set>

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

std::string compact_json(const char *json, size_t len) {
  std::string out(len, '\0');
  out.resize(compact_json_into(json, len, &out[0]));
  return out;
}

size_t compact_json_into(const char *json, size_t len, char *dst) noexcept {
  size_t o = 0;
  auto push = [&](char c) { dst[o++] = c; };
  bool in_string = false;
  for (size_t i = 0; i < len; i++) {
    char c = json[i];
    if (in_string) {
      push(c);
      if (c == '\\' && i + 1 < len) {
        push(json[++i]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      push(c);
    } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
      push(c);
    }
  }
  return o;
}

double backoff_ms(int attempts, double jitter) {
  if (attempts < 1) attempts = 1;
  double base = attempts > 20 ? 60000.0 : 100.0 * std::pow(2.0, attempts - 1);
  base = std::min(base, 60000.0);
  if (!(jitter >= 0.8 && jitter < 1.2)) jitter = 1.0;
  return base * jitter;
}

}  // namespace nova::relay
