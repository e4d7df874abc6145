// Definition of the nova.* GUCs (SPEC §1).
#include "pg/guc.h"

extern "C" {
#include "miscadmin.h"
#include "utils/guc.h"
}

#include <climits>
#include <cstring>

extern "C" {
char *nova_guc_database = nullptr;
char *nova_guc_kafka_brokers = nullptr;
char *nova_guc_kafka_config = nullptr;
char *nova_guc_topic_prefix = nullptr;
int nova_guc_relay_batch_size = 1000;
int nova_guc_relay_idle_timeout = 1000;
int nova_guc_relay_max_attempts = 10;
int nova_guc_event_format = NOVA_EVENT_FORMAT_NOVA;
int nova_guc_jwt_leeway = 30;
int nova_guc_jwt_cache_entries = 65536;
int nova_guc_cache_memory = 65536;
char *nova_guc_correlation_id = nullptr;
char *nova_guc_traceparent = nullptr;
char *nova_guc_tracestate = nullptr;
int nova_guc_validate_events = NOVA_VALIDATE_ERROR;
int nova_guc_max_event_bytes = 1024 * 1024;
}

namespace nova::pg {

namespace {

const struct config_enum_entry validate_options[] = {
    {"error", NOVA_VALIDATE_ERROR, false},
    {"warn", NOVA_VALIDATE_WARN, false},
    {"off", NOVA_VALIDATE_OFF, false},
    {nullptr, 0, false},
};

const struct config_enum_entry event_format_options[] = {
    {"nova", NOVA_EVENT_FORMAT_NOVA, false},
    {"cloudevents", NOVA_EVENT_FORMAT_CLOUDEVENTS, false},
    {nullptr, 0, false},
};

bool check_correlation_id(char **newval, void **, GucSource) {
  const char *problem = correlation_id_problem(*newval);
  if (problem) {
    GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
    GUC_check_errmsg("invalid correlation id: %s", problem);
    return false;
  }
  return true;
}

bool check_traceparent(char **newval, void **, GucSource) {
  const char *problem = traceparent_problem(*newval);
  if (problem) {
    GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
    GUC_check_errmsg("invalid traceparent: %s", problem);
    return false;
  }
  return true;
}

bool check_tracestate(char **newval, void **, GucSource) {
  const char *problem = tracestate_problem(*newval);
  if (problem) {
    GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
    GUC_check_errmsg("invalid tracestate: %s", problem);
    return false;
  }
  return true;
}

bool is_lower_hex(const char *s, int n) {
  for (int i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(const char *s, int n) {
  for (int i = 0; i < n; i++)
    if (s[i] != '0') return false;
  return true;
}

}  // namespace

const char *correlation_id_problem(const char *value) {
  if (value == nullptr) return nullptr;
  size_t len = strlen(value);
  if (len > 128) return "longer than 128 bytes";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) return "contains a control character";
  }
  return nullptr;
}

// W3C trace context: version "00": 00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>.
const char *traceparent_problem(const char *value) {
  if (value == nullptr || value[0] == '\0') return nullptr;
  size_t len = strlen(value);
  if (len != 55) return "not of the form 00-<trace-id>-<parent-id>-<flags>";
  if (value[2] != '-' || value[35] != '-' || value[52] != '-')
    return "not of the form 00-<trace-id>-<parent-id>-<flags>";
  if (!is_lower_hex(value, 2) || !is_lower_hex(value + 3, 32) || !is_lower_hex(value + 36, 16) ||
      !is_lower_hex(value + 53, 2))
    return "fields must be lower-case hexadecimal";
  if (strncmp(value, "ff", 2) == 0) return "version ff is invalid";
  if (all_zero(value + 3, 32)) return "trace-id is all zeros";
  if (all_zero(value + 36, 16)) return "parent-id is all zeros";
  return nullptr;
}

// W3C trace context tracestate: at most 32 comma-separated list members
// key=value (empty members allowed), at most 512 bytes in all; keys
// [a-z0-9][a-z0-9_*/@-]{0,255} (a multi-tenant key has one '@'); values 1-256
// printable ASCII characters other than ',' and '=', not ending in a space.
const char *tracestate_problem(const char *value) {
  if (value == nullptr || value[0] == '\0') return nullptr;
  size_t len = strlen(value);
  if (len > 512) return "longer than 512 bytes";
  int members = 0;
  size_t i = 0;
  while (i <= len) {
    size_t end = i;
    while (end < len && value[end] != ',') end++;
    size_t a = i, b = end;  // trim optional white space around the member
    while (a < b && (value[a] == ' ' || value[a] == '\t')) a++;
    while (b > a && (value[b - 1] == ' ' || value[b - 1] == '\t')) b--;
    if (a < b) {
      if (++members > 32) return "more than 32 list members";
      size_t eq = a;
      while (eq < b && value[eq] != '=') eq++;
      if (eq == b) return "a list member is not key=value";
      size_t klen = eq - a, vlen = b - eq - 1;
      if (klen == 0 || klen > 256) return "a key must be 1-256 characters";
      char c0 = value[a];
      if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= '0' && c0 <= '9'))) return "a key must start with a-z or 0-9";
      for (size_t k = a; k < eq; k++) {
        char c = value[k];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/' ||
              c == '@'))
          return "a key may contain only a-z, 0-9, '_', '-', '*', '/' and '@'";
      }
      if (vlen == 0 || vlen > 256) return "a value must be 1-256 characters";
      for (size_t k = eq + 1; k < b; k++) {
        unsigned char c = static_cast<unsigned char>(value[k]);
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return "a value may contain only printable ASCII other than ',' and '='";
      }
    }
    i = end + 1;
  }
  return nullptr;
}

void define_gucs() {
  // PostgreSQL allows postmaster-context parameters only while preloading
  // (later it is a FATAL error). Without preloading they keep their defaults,
  // which is all the features that read them need (no shared memory, no relay).
  const bool preloading = process_shared_preload_libraries_in_progress;
  if (preloading)
    DefineCustomStringVariable("nova.database", "Database the nova relay worker serves.", nullptr, &nova_guc_database,
                             "postgres", PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("nova.kafka_brokers", "Kafka bootstrap servers for the relay; empty leaves it idle.",
                             nullptr, &nova_guc_kafka_brokers, "", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("nova.kafka_config",
                             "Extra librdkafka properties for the relay, as k=v;k=v (may hold secrets).", nullptr,
                             &nova_guc_kafka_config, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL, nullptr,
                             nullptr, nullptr);
  DefineCustomStringVariable("nova.topic_prefix", "Default Kafka topic prefix (topic = prefix || table name).",
                             nullptr, &nova_guc_topic_prefix, "nova.", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("nova.relay_batch_size", "Maximum outbox events the relay claims per batch.", nullptr,
                          &nova_guc_relay_batch_size, 1000, 1, 100000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("nova.relay_idle_timeout", "Relay safety-net poll interval when no commit woke it.",
                          nullptr, &nova_guc_relay_idle_timeout, 1000, 10, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("nova.relay_max_attempts", "Failed deliveries before an event moves to nova.outbox_dead.",
                          nullptr, &nova_guc_relay_max_attempts, 10, 1, 1000000, PGC_SIGHUP, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomEnumVariable("nova.event_format",
                           "Kafka headers the relay sends: nova (1.0's) or cloudevents (Kafka binding, binary mode).",
                           nullptr, &nova_guc_event_format, NOVA_EVENT_FORMAT_NOVA, event_format_options, PGC_SIGHUP,
                           0, nullptr, nullptr, nullptr);
  // Superuser-only: a role that could widen the leeway could use tokens that
  // expired long ago (docs/jwt.md). ALTER ROLE/DATABASE ... SET by an admin works.
  DefineCustomIntVariable("nova.jwt_leeway", "Clock skew allowed when checking JWT exp, nbf and iat.", nullptr,
                          &nova_guc_jwt_leeway, 30, 0, 86400, PGC_SUSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
  if (preloading)
    DefineCustomIntVariable("nova.jwt_cache_entries", "Capacity of the shared JWT verification cache.", nullptr,
                          &nova_guc_jwt_cache_entries, 65536, 0, 16 * 1024 * 1024, PGC_POSTMASTER, 0, nullptr,
                          nullptr, nullptr);
  if (preloading)
    DefineCustomIntVariable("nova.cache_memory", "Shared memory for the nova key/value cache.", nullptr,
                          &nova_guc_cache_memory, 65536, 1024, 64 * 1024 * 1024, PGC_POSTMASTER, GUC_UNIT_KB,
                          nullptr, nullptr, nullptr);
  DefineCustomStringVariable("nova.correlation_id", "Correlation id of the current request (SET LOCAL it).", nullptr,
                             &nova_guc_correlation_id, "", PGC_USERSET, 0, check_correlation_id, nullptr, nullptr);
  DefineCustomStringVariable("nova.traceparent", "W3C traceparent of the current request (SET LOCAL it).", nullptr,
                             &nova_guc_traceparent, "", PGC_USERSET, 0, check_traceparent, nullptr, nullptr);
  DefineCustomStringVariable("nova.tracestate", "W3C tracestate of the current request (SET LOCAL it).", nullptr,
                             &nova_guc_tracestate, "", PGC_USERSET, 0, check_tracestate, nullptr, nullptr);
  // Superuser-only: a writer that could turn it off would skip schema validation
  // (docs/schemas.md). ALTER ROLE/DATABASE ... SET by an admin works.
  DefineCustomEnumVariable("nova.validate_events", "Schema validation of outbox writes: error, warn or off.", nullptr,
                           &nova_guc_validate_events, NOVA_VALIDATE_ERROR, validate_options, PGC_SUSET, 0, nullptr,
                           nullptr, nullptr);
  // Superuser only: a service must not be able to lift the limit for itself (docs/security.md).
  DefineCustomIntVariable("nova.max_event_bytes",
                          "Largest outbox event (key + payload + headers) nova.publish or the outbox trigger may write.",
                          nullptr, &nova_guc_max_event_bytes, 1024 * 1024, 1024, INT_MAX, PGC_SUSET, GUC_UNIT_BYTE,
                          nullptr, nullptr, nullptr);
#if PG_VERSION_NUM >= 150000
  MarkGUCPrefixReserved("nova");
#else
  EmitWarningsOnPlaceholders("nova");
#endif
}

}  // namespace nova::pg
