#!/usr/bin/env python3
"""Split Tests/Fixtures/refusal/labelled.tsv into dev.tsv and test.tsv, deterministically.

Usage: refusal_split.py [LABELLED_TSV]   (writes dev.tsv and test.tsv beside it)

Stratified by (label, lang): within each stratum, rows are taken in file order and the 0th, 2nd,
4th, ... go to dev, the 1st, 3rd, 5th, ... to test. Both files keep the header and the original
relative order of the rows. No randomness, so the split is reproducible.
"""
import os
import sys
from collections import defaultdict


def main(path):
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    header, rows = lines[0], [r for r in lines[1:] if r]
    seen = defaultdict(int)
    dev, test = [], []
    for row in rows:
        label, lang, _text = row.split("\t", 2)
        key = (label, lang)
        (dev if seen[key] % 2 == 0 else test).append(row)
        seen[key] += 1
    out_dir = os.path.dirname(path)
    for name, part in (("dev.tsv", dev), ("test.tsv", test)):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8", newline="") as f:
            f.write(header + "\n" + "".join(r + "\n" for r in part))
    print(f"dev: {len(dev)} rows, test: {len(test)} rows")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/refusal/labelled.tsv")
