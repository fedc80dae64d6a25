#!/usr/bin/env python3
"""Compare `vigil scan --output jsonl` findings with the shared benchmark's labels.

Usage: bench_accuracy.py FINDINGS.jsonl LABELS.tsv
Prints recall per planted kind, decoys flagged as card/ID, and refusal precision/recall.
Labels record what was planted (../shared/bench/README.md); matches by chance in background
text are not counted against precision except where noted.
"""
import json
import sys
from collections import defaultdict

PII_KIND = {"id18": "cn_id", "bankcard": "bank_card", "mobile": "cn_mobile", "email": "email",
            "passport": "passport", "secret": "api_key", "address": "address"}
ATTACK_KIND = {"injection": {"prompt_injection", "jailbreak"}, "xss": {"xss"}, "sqli": {"sqli"},
               "cmdi": {"command_injection"}}


def main(findings_path, labels_path):
    found = defaultdict(list)  # line -> list of objects
    with open(findings_path, encoding="utf-8") as f:
        for raw in f:
            obj = json.loads(raw)
            found[obj["line"]].append(obj)

    stats = defaultdict(lambda: [0, 0])  # name -> [hit, total]
    decoys_flagged = 0
    decoys = 0
    refusal_labelled = set()
    malformed_ok = [0, 0]
    with open(labels_path, encoding="utf-8") as f:
        next(f)
        for raw in f:
            line_s, _rid, direction, tags = raw.rstrip("\n").split("\t", 3)
            line = int(line_s)
            objs = found.get(line, [])
            errors = [o for o in objs if "error" in o]
            # A text with a bad byte is still scanned: it carries both findings and "error".
            recs = [o for o in objs if o.get("direction") == direction]
            risks = {r["id"] for o in recs for r in o.get("risks", [])}
            pii = {p for o in recs for p in o.get("pii", [])}
            attacks = {a for o in recs for a in o.get("attacks", [])}
            for tag in tags.split("|"):
                kind = tag.split(":", 1)[0]
                if kind in ("kw", "kwvar"):
                    risk = tag.split(":", 2)[1]
                    s = stats["keyword (literal)" if kind == "kw" else "keyword (obfuscated variant)"]
                    s[1] += 1
                    s[0] += risk in risks
                elif kind == "pii":
                    p = tag.split(":", 1)[1]
                    if p in PII_KIND:
                        s = stats["pii " + p]
                        s[1] += 1
                        s[0] += PII_KIND[p] in pii
                elif kind == "attack":
                    a = tag.split(":", 1)[1]
                    s = stats["attack " + a]
                    s[1] += 1
                    s[0] += bool(ATTACK_KIND[a] & attacks)
                elif kind == "decoy":
                    decoys += 1
                    if "pii:" not in tags and ({"cn_id", "bank_card"} & pii):
                        decoys_flagged += 1
                elif kind == "refusal":
                    refusal_labelled.add(line)
                elif kind == "malformed":
                    malformed_ok[1] += 1
                    malformed_ok[0] += bool(errors)
                elif kind == "long":
                    s = stats["long line decoded"]
                    s[1] += 1
                    s[0] += bool(recs)

    refused = set()
    outputs = 0
    for line, objs in found.items():
        for o in objs:
            if o.get("direction") == "output":
                outputs += 1
                if o.get("refusal"):
                    refused.add(line)
    tp = len(refused & refusal_labelled)
    total_hit = sum(v[0] for k, v in stats.items() if k.startswith(("keyword", "pii", "attack")))
    total_all = sum(v[1] for k, v in stats.items() if k.startswith(("keyword", "pii", "attack")))
    print("| what | found | planted | recall |")
    print("|---|---:|---:|---:|")
    for name in sorted(stats):
        hit, total = stats[name]
        print(f"| {name} | {hit:,} | {total:,} | {100.0 * hit / max(1, total):.2f}% |")
    print(f"| **all planted keywords, PII and attacks** | {total_hit:,} | {total_all:,} | {100.0 * total_hit / max(1, total_all):.2f}% |")
    print(f"| malformed lines reported as errors | {malformed_ok[0]:,} | {malformed_ok[1]:,} | {100.0 * malformed_ok[0] / max(1, malformed_ok[1]):.2f}% |")
    print()
    print(f"decoys flagged as a card or ID number: {decoys_flagged} of {decoys}")
    print(f"refusals: labelled {len(refusal_labelled):,}, classified {len(refused):,}, agreeing {tp:,}; "
          f"recall {100.0 * tp / max(1, len(refusal_labelled)):.2f}%, precision against the labels "
          f"{100.0 * tp / max(1, len(refused)):.2f}% (labels omit refusal phrases that occur by chance)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
