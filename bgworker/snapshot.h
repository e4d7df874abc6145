// Snapshots of existing rows (docs/outbox.md, "Snapshots"): the step the relay
// worker runs between its own batches.
#pragma once

namespace nova::relay {

// Publish the next batch of the oldest unfinished snapshot (nova.snapshot_jobs)
// in its own transaction: read up to batch_size rows after the job's cursor in
// primary-key order, locking them FOR SHARE (a concurrent writer of one of those
// rows either committed before — its state is what we read — or waits and gets a
// later outbox id), write one <Entity>Snapshot event per row, advance the cursor.
// Call outside a transaction. Errors are caught, logged and recorded in the job's
// last_error (the job is retried at the next step). Returns true when it wrote
// events or finished a job, false when there was nothing to do.
bool snapshot_step();

}  // namespace nova::relay
