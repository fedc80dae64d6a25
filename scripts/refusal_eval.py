#!/usr/bin/env python3
"""Measure Vigil's refusal classifier against a labelled TSV.

Usage: refusal_eval.py VIGIL_BINARY TSV [--rules DIR ...] [--show-errors]

TSV: header `label<TAB>lang<TAB>text`; label is `refusal` or `answer`; the text is on one line
with newlines written as the two characters `\\n` (read with quoting disabled: texts contain `"`).

Each text is written to a temporary file, one per line, with every literal `\\n` replaced by a
single space: `--format plain` takes one text per line, so a real newline cannot be passed, and a
space keeps character offsets close to the original (one character for one line break), which
matters for the rules' refusal_window. Other backslash sequences are left as they are.

The binary runs as
    VIGIL_BINARY scan --format plain --direction output --output jsonl --summary none
                 [--rules DIR ...] TMPFILE
and its records are joined to the rows by their `line` field. "refusal" is the positive class.
Prints precision, recall, F1 and accuracy overall and per language, and the confusion counts;
with --show-errors, lists every misclassified row.

Exit status: 0 on success; 2 if the binary fails (exit status other than 0 or 1, which `vigil scan`
uses for "nothing found" / "something found"), prints malformed output, or leaves a row without a
record; 2 on a malformed TSV.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import OrderedDict


def fail(msg):
    print(f"refusal_eval: {msg}", file=sys.stderr)
    sys.exit(2)


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if not lines or lines[0].rstrip("\r").split("\t") != ["label", "lang", "text"]:
        fail(f"{path}: header must be 'label<TAB>lang<TAB>text'")
    for n, raw in enumerate(lines[1:], start=2):
        raw = raw.rstrip("\r")
        if not raw:
            continue
        parts = raw.split("\t", 2)
        if len(parts) != 3 or parts[0] not in ("refusal", "answer"):
            fail(f"{path}:{n}: expected 'refusal|answer<TAB>lang<TAB>text'")
        rows.append({"tsv_line": n, "label": parts[0], "lang": parts[1], "text": parts[2]})
    if not rows:
        fail(f"{path}: no rows")
    return rows


def to_plain_line(text):
    line = text.replace("\\n", " ")
    # A stray real line break or an empty text would shift or drop a line; guard against both.
    line = line.replace("\r", " ").replace("\n", " ")
    return line if line.strip() else "."


def run_vigil(binary, rules, rows):
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as tmp:
        for r in rows:
            tmp.write(to_plain_line(r["text"]) + "\n")
        tmp_path = tmp.name
    cmd = [binary, "scan", "--format", "plain", "--direction", "output",
           "--output", "jsonl", "--summary", "none"]
    for d in rules:
        cmd += ["--rules", d]
    cmd.append(tmp_path)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        fail(f"cannot run {binary}: {e}")
    finally:
        os.unlink(tmp_path)
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr)
        fail(f"{' '.join(cmd[:2])} exited with status {proc.returncode}")
    predicted = {}
    for raw in proc.stdout.splitlines():
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError:
            fail(f"the binary printed a line that is not JSON: {raw[:120]}")
        if "error" in obj:
            fail(f"the binary reported an error for line {obj.get('line')}: {obj['error']}")
        if obj.get("direction") != "output":
            continue
        predicted[obj["line"]] = bool(obj.get("refusal"))
    missing = [i + 1 for i in range(len(rows)) if i + 1 not in predicted]
    if missing:
        fail(f"no record for {len(missing)} line(s), first {missing[:5]}")
    for i, r in enumerate(rows):
        r["pred"] = "refusal" if predicted[i + 1] else "answer"


def metrics(rows):
    tp = sum(r["label"] == "refusal" and r["pred"] == "refusal" for r in rows)
    fp = sum(r["label"] == "answer" and r["pred"] == "refusal" for r in rows)
    fn = sum(r["label"] == "refusal" and r["pred"] == "answer" for r in rows)
    tn = sum(r["label"] == "answer" and r["pred"] == "answer" for r in rows)
    p = tp / (tp + fp) if tp + fp else 0.0
    rc = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
    acc = (tp + tn) / len(rows) if rows else 0.0
    return {"n": len(rows), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": p, "recall": rc, "f1": f1, "accuracy": acc}


def main():
    ap = argparse.ArgumentParser(description="Measure vigil's refusal classifier on a labelled TSV.")
    ap.add_argument("binary", help="path to the vigil binary")
    ap.add_argument("tsv", help="labelled TSV (label<TAB>lang<TAB>text)")
    ap.add_argument("--rules", action="append", default=[], metavar="DIR",
                    help="rule directory passed to vigil (repeatable; default: vigil's own)")
    ap.add_argument("--show-errors", action="store_true", help="list misclassified rows")
    args = ap.parse_args()

    rows = read_tsv(args.tsv)
    run_vigil(args.binary, args.rules, rows)

    groups = OrderedDict([("overall", rows)])
    for lang in sorted({r["lang"] for r in rows}):
        groups[lang] = [r for r in rows if r["lang"] == lang]

    print(f"{args.tsv}: {len(rows)} rows (positive class: refusal)")
    print(f"{'':8} {'n':>4} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4} "
          f"{'precision':>9} {'recall':>7} {'F1':>6} {'accuracy':>8}")
    for name, grp in groups.items():
        m = metrics(grp)
        print(f"{name:8} {m['n']:>4} {m['tp']:>4} {m['fp']:>4} {m['fn']:>4} {m['tn']:>4} "
              f"{m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['accuracy']:>8.3f}")

    if args.show_errors:
        errors = [r for r in rows if r["label"] != r["pred"]]
        print(f"\nmisclassified: {len(errors)}")
        for r in errors:
            kind = "FN (missed refusal)" if r["label"] == "refusal" else "FP (answer flagged)"
            print(f"  {args.tsv}:{r['tsv_line']} [{r['lang']}] {kind}: {r['text']}")


if __name__ == "__main__":
    main()
