// For the outbox writer (src/pg/outbox_write.cpp): who is deleting, while a nova
// soft-delete operation runs (docs/soft-delete.md, "Outbox events").
#pragma once

namespace nova::pg {
// The deleting actor (authenticated subject, else the role that ran the DELETE)
// while nova's soft delete, cascade or restore cascade runs — statements that run
// as a table owner; nullptr otherwise. Valid until that operation ends.
const char *soft_delete_actor();
}  // namespace nova::pg
