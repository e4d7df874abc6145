#!/usr/bin/python3
# Per-key delivery check for the relay e2e tests (test/e2e/40_relay_*.sh), against
# public.items (every update adds 1 to v). For each key:
#   - order: the values in order of first appearance increase (at-least-once
#     duplicates allowed: 1 2 1 2 3 is fine, 1 3 2 is not);
#   - completeness: every v = 1..latest reached Kafka;
#   - latest state: the last message is the row's latest state.
# Usage:
#   check_key_order.py MESSAGES.jsonl FINAL.jsonl   (kcat -J lines; {"key", "payload"} lines)
#   check_key_order.py --self-test                  the checker rejects what it must
import json, sys


def check(msgs, final):
    """msgs: [(key, payload dict)] in consumption order; final: {key: payload}. Returns (summary, problems)."""
    seen, first, last, bad = {}, {}, {}, []
    for key, p in msgs:
        if p["v"] not in seen.setdefault(key, set()):
            seen[key].add(p["v"])
            first.setdefault(key, []).append(p["v"])
        last[key] = p  # kcat prints each partition in offset order; a key lives in one partition
    produced = sum(f["v"] for f in final.values())
    delivered = sum(len(seen.get(k, set()) & set(range(1, f["v"] + 1))) for k, f in final.items())
    out_of_order = 0
    for k in sorted(first, key=str):
        vs = first[k]
        for a, b in zip(vs, vs[1:]):
            if b <= a:
                out_of_order += 1
                bad.append("key %s: v %d first arrived after v %d (first appearances: %s)"
                           % (k, b, a, " ".join(map(str, vs[:40]))))
                break
    for k, f in sorted(final.items()):
        if last.get(k) != f:
            bad.append("key %s: last message %s, latest row %s" % (k, json.dumps(last.get(k)), json.dumps(f)))
    if produced != delivered:
        bad.append("%d of %d versions never reached Kafka" % (produced - delivered, produced))
    summary = ("produced %d / delivered %d / duplicates %d / lost %d / keys out of order %d"
               % (produced, delivered, len(msgs) - delivered, produced - delivered, out_of_order))
    return summary, bad


def self_test():
    row = lambda v: {"id": 1, "v": v}
    cases = [  # (messages of key "1", final v, must pass)
        ([1, 2, 3], 3, True),
        ([1, 2, 1, 2, 3], 3, True),        # a retry re-sends the failed event and the later ones
        ([1, 2, 3, 2, 3], 3, True),
        ([1, 3, 2, 3], 3, False),          # 3 before 2: order broken although the last is right
        ([2, 1, 2], 2, False),
        ([1, 3], 3, False),                # 2 lost
        ([1, 2, 3, 2], 3, False),          # last message is not the latest row
    ]
    ok = True
    for vs, fv, want in cases:
        _, bad = check([("1", row(v)) for v in vs], {"1": row(fv)})
        if (not bad) != want:
            ok = False
            print("self-test: %s (final v %d) %s, expected %s" % (vs, fv, "passed" if not bad else "failed",
                                                                    "pass" if want else "fail"))
    print("check_key_order self-test: %s" % ("ok" if ok else "FAILED"))
    return ok


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(0 if self_test() else 1)
    msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    final = {f["key"]: f["payload"] for f in map(json.loads, open(sys.argv[2])) if f}
    summary, bad = check([(m["key"], json.loads(m["payload"])) for m in msgs], final)
    print(summary)
    for b in bad[:30]:
        print("  problem:", b)
    sys.exit(1 if bad else 0)
