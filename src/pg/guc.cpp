// Definition of the nova.* GUCs (docs/operations.md); defaults in guc.h.
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
int nova_guc_relay_batch_size = nova::pg::guc_default::kRelayBatchSize;
int nova_guc_relay_idle_timeout = nova::pg::guc_default::kRelayIdleTimeoutMs;
int nova_guc_relay_linger = nova::pg::guc_default::kRelayLingerMs;
int nova_guc_relay_max_attempts = nova::pg::guc_default::kRelayMaxAttempts;
int nova_guc_event_format = NOVA_EVENT_FORMAT_NOVA;
int nova_guc_jwt_leeway = nova::pg::guc_default::kJwtLeewaySeconds;
int nova_guc_jwt_cache_entries = nova::pg::guc_default::kJwtCacheEntries;
int nova_guc_cache_memory = nova::pg::guc_default::kCacheMemoryKb;
char *nova_guc_correlation_id = nullptr;
char *nova_guc_traceparent = nullptr;
char *nova_guc_tracestate = nullptr;
int nova_guc_validate_events = nova::pg::guc_default::kValidateEvents;
int nova_guc_max_event_bytes = nova::pg::guc_default::kMaxEventBytes;
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

}  // namespace

void define_gucs() {
  namespace D = guc_default;
  // PostgreSQL allows postmaster-context parameters only while preloading
  // (later it is a FATAL error). Without preloading they keep their defaults,
  // which is all the features that read them need (no shared memory, no relay).
  const bool preloading = process_shared_preload_libraries_in_progress;
  if (preloading)
    DefineCustomStringVariable("nova.database", "Database the nova relay worker serves.", nullptr, &nova_guc_database,
                             D::kDatabase, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("nova.kafka_brokers", "Kafka bootstrap servers for the relay; empty leaves it idle.",
                             nullptr, &nova_guc_kafka_brokers, D::kKafkaBrokers, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("nova.kafka_config",
                             "Extra librdkafka properties for the relay, as k=v;k=v (may hold secrets).", nullptr,
                             &nova_guc_kafka_config, D::kKafkaConfig, PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL, nullptr,
                             nullptr, nullptr);
  DefineCustomStringVariable("nova.topic_prefix", "Default Kafka topic prefix (topic = prefix || table name).",
                             nullptr, &nova_guc_topic_prefix, D::kTopicPrefix, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("nova.relay_batch_size", "Maximum outbox events the relay claims per batch.", nullptr,
                          &nova_guc_relay_batch_size, D::kRelayBatchSize, 1, 100000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("nova.relay_idle_timeout", "Relay safety-net poll interval when no commit woke it.",
                          nullptr, &nova_guc_relay_idle_timeout, D::kRelayIdleTimeoutMs, 10, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("nova.relay_linger",
                          "While caught up, the relay claims at most once per this interval, so that a steady stream of "
                          "commits is sent in fewer, larger batches.",
                          nullptr, &nova_guc_relay_linger, D::kRelayLingerMs, 0, 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
                          nullptr, nullptr);
  DefineCustomIntVariable("nova.relay_max_attempts", "Failed deliveries before an event moves to nova.outbox_dead.",
                          nullptr, &nova_guc_relay_max_attempts, D::kRelayMaxAttempts, 1, 1000000, PGC_SIGHUP, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomEnumVariable("nova.event_format",
                           "Kafka headers the relay sends: nova (1.0's) or cloudevents (Kafka binding, binary mode).",
                           nullptr, &nova_guc_event_format, NOVA_EVENT_FORMAT_NOVA, event_format_options, PGC_SIGHUP,
                           0, nullptr, nullptr, nullptr);
  // Superuser-only: a role that could widen the leeway could use tokens that
  // expired long ago (docs/jwt.md). ALTER ROLE/DATABASE ... SET by an admin works.
  DefineCustomIntVariable("nova.jwt_leeway", "Clock skew allowed when checking JWT exp, nbf and iat.", nullptr,
                          &nova_guc_jwt_leeway, D::kJwtLeewaySeconds, 0, 86400, PGC_SUSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
  if (preloading)
    DefineCustomIntVariable("nova.jwt_cache_entries", "Capacity of the shared JWT verification cache.", nullptr,
                          &nova_guc_jwt_cache_entries, D::kJwtCacheEntries, 0, 16 * 1024 * 1024, PGC_POSTMASTER, 0, nullptr,
                          nullptr, nullptr);
  if (preloading)
    DefineCustomIntVariable("nova.cache_memory", "Shared memory for the nova key/value cache.", nullptr,
                          &nova_guc_cache_memory, D::kCacheMemoryKb, 1024, 64 * 1024 * 1024, PGC_POSTMASTER, GUC_UNIT_KB,
                          nullptr, nullptr, nullptr);
  DefineCustomStringVariable("nova.correlation_id", "Correlation id of the current request (SET LOCAL it).", nullptr,
                             &nova_guc_correlation_id, D::kCorrelationId, PGC_USERSET, 0, check_correlation_id, nullptr, nullptr);
  DefineCustomStringVariable("nova.traceparent", "W3C traceparent of the current request (SET LOCAL it).", nullptr,
                             &nova_guc_traceparent, D::kTraceparent, PGC_USERSET, 0, check_traceparent, nullptr, nullptr);
  DefineCustomStringVariable("nova.tracestate", "W3C tracestate of the current request (SET LOCAL it).", nullptr,
                             &nova_guc_tracestate, D::kTracestate, PGC_USERSET, 0, check_tracestate, nullptr, nullptr);
  // Superuser-only: a writer that could turn it off would skip schema validation
  // (docs/schemas.md). ALTER ROLE/DATABASE ... SET by an admin works.
  DefineCustomEnumVariable("nova.validate_events", "Schema validation of outbox writes: error, warn or off.", nullptr,
                           &nova_guc_validate_events, D::kValidateEvents, validate_options, PGC_SUSET, 0, nullptr,
                           nullptr, nullptr);
  // Superuser only: a service must not be able to lift the limit for itself (docs/security.md).
  DefineCustomIntVariable("nova.max_event_bytes",
                          "Largest outbox event (key + payload + headers) nova.publish or the outbox trigger may write.",
                          nullptr, &nova_guc_max_event_bytes, D::kMaxEventBytes, 1024, INT_MAX, PGC_SUSET, GUC_UNIT_BYTE,
                          nullptr, nullptr, nullptr);
#if PG_VERSION_NUM >= 150000
  MarkGUCPrefixReserved("nova");
#else
  EmitWarningsOnPlaceholders("nova");
#endif
}

}  // namespace nova::pg
