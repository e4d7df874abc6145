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
  DefineCustomIntVariable("nova.jwt_leeway", "Clock skew allowed when checking JWT exp, nbf and iat.", nullptr,
                          &nova_guc_jwt_leeway, 30, 0, 86400, PGC_USERSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
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
  DefineCustomEnumVariable("nova.validate_events", "Schema validation of outbox writes: error, warn or off.", nullptr,
                           &nova_guc_validate_events, NOVA_VALIDATE_ERROR, validate_options, PGC_USERSET, 0, nullptr,
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
