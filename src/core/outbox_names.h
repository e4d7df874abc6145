// Naming rules of the outbox (docs/outbox.md): default entity names and Kafka topic
// names. Plain C++ (no postgres.h) so the rules are unit-tested on their own.
#pragma once

#include <string>

namespace nova::outbox {

// The default entity of a table: its name in singular CamelCase.
//   posts → Post, user_follows → UserFollow, replies → Reply, addresses → Address.
// Words are separated by '_', '-', ' ' or '.'; only the last word is made singular;
// each word gets an upper-case first letter, the rest is kept as written.
std::string entity_name(const std::string &table);

// Singular of one lower-case English word (the rules documented in docs/outbox.md).
std::string singular(const std::string &word);

// nullptr when `topic` is a legal Kafka topic name, else why not:
// 1–249 characters from [A-Za-z0-9._-], and not "." or "..".
const char *topic_problem(const char *topic);

// nullptr when `entity` is usable as an entity name (an identifier:
// [A-Za-z_][A-Za-z0-9_]*, at most 100 characters), else why not.
const char *entity_problem(const char *entity);

}  // namespace nova::outbox
