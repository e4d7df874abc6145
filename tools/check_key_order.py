#!/usr/bin/python3
# Per-key delivery check for the relay e2e tests (test/e2e/40_relay_*.sh): every
# version v = 1..latest of each row of public.items reached Kafka, and the last
# message of every key is the row's latest state. Usage:
#   check_key_order.py MESSAGES.jsonl FINAL.jsonl   (kcat -J lines; {"key", "payload"} lines)
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
final = {f["key"]: f["payload"] for f in map(json.loads, open(sys.argv[2])) if f}
seen, last, bad = {}, {}, []
for m in msgs:
    p = json.loads(m["payload"])
    seen.setdefault(m["key"], set()).add(p["v"])
    last[m["key"]] = p  # kcat prints each partition in offset order; a key lives in one partition
produced = sum(f["v"] for f in final.values())
delivered = sum(len(seen.get(k, set()) & set(range(1, f["v"] + 1))) for k, f in final.items())
print("produced %d / delivered %d / duplicates %d / lost %d" % (produced, delivered, len(msgs) - delivered, produced - delivered))
for k, f in sorted(final.items()):
    if last.get(k) != f:
        bad.append("key %s: last message %s, latest row %s" % (k, json.dumps(last.get(k)), json.dumps(f)))
for b in bad: print("  problem:", b)
sys.exit(1 if bad or produced != delivered else 0)
