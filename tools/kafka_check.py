#!/usr/bin/python3
"""Compare what reached Kafka (kcat -J lines) with what the database committed.

  kafka_check.py --messages kcat.jsonl --expected expected.jsonl [--final final.jsonl]
                 [--header NAME=VALUE]... [--max-duplicates N]

expected.jsonl: one JSON object per committed event: {"event_id", "key", "payload", "topic"
  (optional), "headers" (optional: headers that must be present with these values)}.
final.jsonl: {"key", "payload"} per key: the last message of that key in Kafka must carry
  exactly this payload (the key's latest state in the database).
Prints "produced N / delivered N / duplicates N / lost N"; exits 1 on lost events,
unexpected events, or wrong content.
"""
import argparse
import json
import sys


def headers_of(msg):
    h = msg.get("headers") or []
    return {h[i]: h[i + 1] for i in range(0, len(h) - 1, 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--final")
    ap.add_argument("--header", action="append", default=[])
    args = ap.parse_args()

    msgs = [json.loads(l) for l in open(args.messages) if l.strip()]
    expected = {}
    for l in open(args.expected):
        if l.strip():
            e = json.loads(l)
            expected[e["event_id"]] = e
    problems = []
    seen = {}
    unexpected = 0
    for m in msgs:
        h = headers_of(m)
        eid = h.get("event-id")
        if eid is None or eid not in expected:
            unexpected += 1
            if unexpected <= 5:
                problems.append("unexpected message %s" % json.dumps(m)[:300])
            continue
        seen[eid] = seen.get(eid, 0) + 1
        if seen[eid] > 1:
            continue
        e = expected[eid]
        if m.get("key") != e.get("key"):
            problems.append("event %s: key %r, expected %r" % (eid, m.get("key"), e.get("key")))
        if "topic" in e and m.get("topic") != e["topic"]:
            problems.append("event %s: topic %r, expected %r" % (eid, m.get("topic"), e["topic"]))
        payload = m.get("payload")
        got = None if payload is None else json.loads(payload)
        if got != e.get("payload"):
            problems.append("event %s: payload %s, expected %s" % (eid, payload, json.dumps(e.get("payload"))))
        if payload is not None and payload != json.dumps(got, separators=(",", ":"), ensure_ascii=False):
            problems.append("event %s: payload is not compact: %s" % (eid, payload[:200]))
        for name, value in (e.get("headers") or {}).items():
            if h.get(name) != value:
                problems.append("event %s: header %s = %r, expected %r" % (eid, name, h.get(name), value))
        for hv in args.header:
            name, _, value = hv.partition("=")
            if h.get(name) != value:
                problems.append("event %s: header %s = %r, expected %r" % (eid, name, h.get(name), value))
        for name in ("event-id", "event-type", "occurred-at", "source", "correlation-id"):
            if name not in h:
                problems.append("event %s: header %s missing" % (eid, name))
    lost = [eid for eid in expected if eid not in seen]
    duplicates = sum(n - 1 for n in seen.values())
    if args.final:
        last = {}
        for m in msgs:  # kcat prints partitions in offset order; a key lives in one partition
            last[(m.get("topic"), m.get("key"))] = m
        for l in open(args.final):
            if not l.strip():
                continue
            f = json.loads(l)
            cands = [m for (t, k), m in last.items() if k == f["key"] and ("topic" not in f or t == f["topic"])]
            if not cands:
                problems.append("key %s: no message at all" % f["key"])
                continue
            got = cands[0].get("payload")
            got = None if got is None else json.loads(got)
            if got != f["payload"]:
                problems.append("key %s: last message %s, latest state %s" % (f["key"], json.dumps(got),
                                                                               json.dumps(f["payload"])))
    print("produced %d / delivered %d / duplicates %d / lost %d%s" % (
        len(expected), len(seen), duplicates, len(lost), (" / unexpected %d" % unexpected) if unexpected else ""))
    for eid in lost[:5]:
        problems.append("lost event %s (%s)" % (eid, json.dumps(expected[eid])[:200]))
    for p in problems[:20]:
        print("  problem: " + p)
    return 1 if (lost or unexpected or problems) else 0


if __name__ == "__main__":
    sys.exit(main())
