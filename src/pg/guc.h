// nova.* configuration parameters (docs/operations.md). Defined in guc.cpp, read anywhere.
#pragma once

extern "C" {
#include "postgres.h"
}

#include "core/correlation_rules.h"

extern "C" {
extern char *nova_guc_database;          // nova.database (postmaster)
extern char *nova_guc_kafka_brokers;     // nova.kafka_brokers (sighup)
extern char *nova_guc_kafka_config;      // nova.kafka_config (sighup, superuser only; secret)
extern char *nova_guc_topic_prefix;      // nova.topic_prefix (sighup)
extern int nova_guc_relay_batch_size;    // nova.relay_batch_size (sighup)
extern int nova_guc_relay_idle_timeout;  // nova.relay_idle_timeout, milliseconds (sighup)
extern int nova_guc_relay_linger;        // nova.relay_linger, milliseconds (sighup)
extern int nova_guc_relay_max_attempts;  // nova.relay_max_attempts (sighup)
extern int nova_guc_event_format;        // nova.event_format (sighup), NOVA_EVENT_FORMAT_*
extern int nova_guc_jwt_leeway;          // nova.jwt_leeway, seconds (superuser)
extern int nova_guc_jwt_cache_entries;   // nova.jwt_cache_entries (postmaster)
extern int nova_guc_cache_memory;        // nova.cache_memory, kilobytes (postmaster)
extern char *nova_guc_correlation_id;    // nova.correlation_id (user)
extern char *nova_guc_traceparent;       // nova.traceparent (user)
extern char *nova_guc_tracestate;        // nova.tracestate (user)
extern int nova_guc_validate_events;     // nova.validate_events (superuser), NOVA_VALIDATE_*
extern int nova_guc_max_event_bytes;     // nova.max_event_bytes, bytes (superuser)
}

enum NovaEventFormat { NOVA_EVENT_FORMAT_NOVA = 0, NOVA_EVENT_FORMAT_CLOUDEVENTS = 1 };
enum NovaValidateEvents { NOVA_VALIDATE_OFF = 0, NOVA_VALIDATE_WARN = 1, NOVA_VALIDATE_ERROR = 2 };

// Each default written once: the C variable's initialiser and the boot value
// given to DefineCustom*Variable both use these (string variables start as
// nullptr, as PostgreSQL requires, and get their boot value when defined).
// docs/operations.md lists them for users.
namespace nova::pg::guc_default {
constexpr const char *kDatabase = "postgres";
constexpr const char *kKafkaBrokers = "";
constexpr const char *kKafkaConfig = "";
constexpr const char *kTopicPrefix = "nova.";
constexpr int kRelayBatchSize = 1000;
constexpr int kRelayIdleTimeoutMs = 1000;
constexpr int kRelayLingerMs = 2;
constexpr int kRelayMaxAttempts = 10;
constexpr int kJwtLeewaySeconds = 30;
constexpr int kJwtCacheEntries = 65536;
constexpr int kCacheMemoryKb = 65536;
constexpr const char *kCorrelationId = "";
constexpr const char *kTraceparent = "";
constexpr const char *kTracestate = "";
constexpr int kValidateEvents = NOVA_VALIDATE_ERROR;
constexpr int kMaxEventBytes = 1024 * 1024;
}  // namespace nova::pg::guc_default

namespace nova::pg {
void define_gucs();
// Check hooks' validation, shared with SQL functions: nullptr when valid, else a
// reason. The rules live in src/core/correlation_rules.h.
using nova::correlation::correlation_id_problem;
using nova::correlation::traceparent_problem;
using nova::correlation::tracestate_problem;
}  // namespace nova::pg
