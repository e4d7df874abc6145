// SQL wrappers of the outbox naming rules (src/core/outbox_names.h), used by
// nova.enable_outbox() for its defaults and validation.
#include <cstring>
#include <string>

extern "C" {
#include "postgres.h"
#include "utils/builtins.h"
}

#include "core/outbox_names.h"
#include "pg/boundary.h"

// nova._outbox_entity_name(table text) → text: singular CamelCase.
NOVA_FUNCTION(nova_outbox_entity_name) {
  char *in = text_to_cstring(PG_GETARG_TEXT_PP(0));
  size_t cap = strlen(in) + 32;  // irregular singulars grow by at most a few bytes
  char *out = static_cast<char *>(palloc(cap));
  {
    std::string s = nova::outbox::entity_name(in);
    if (s.size() >= cap) throw nova::Error(nova::sqlstate::kInternalError, "entity name unexpectedly long");
    memcpy(out, s.c_str(), s.size() + 1);
  }
  PG_RETURN_TEXT_P(cstring_to_text(out));
}

// nova._outbox_topic_problem(topic text) → text: NULL when legal, else why not.
NOVA_FUNCTION(nova_outbox_topic_problem) {
  const char *p = nova::outbox::topic_problem(text_to_cstring(PG_GETARG_TEXT_PP(0)));
  if (p == nullptr) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(p));
}

// nova._outbox_entity_problem(entity text) → text: NULL when usable, else why not.
NOVA_FUNCTION(nova_outbox_entity_problem) {
  const char *p = nova::outbox::entity_problem(text_to_cstring(PG_GETARG_TEXT_PP(0)));
  if (p == nullptr) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(p));
}
