#!/usr/bin/env python3
"""Prints deploy/dev/bench.sh's table from its results file (tab-separated rows:
figure, ours, limit, ratio, goal, met) and writes the same as Markdown.

usage: report.py RESULTS.tsv CONDITIONS.txt OUT.md"""
import sys


def main():
    results, conditions, out = sys.argv[1:4]
    rows = [line.rstrip("\n").split("\t") for line in open(results) if line.strip()]
    head = ["figure", "ours", "limit", "ratio", "goal", "met?"]
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    print(line(head))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))
    cond = open(conditions).read().strip()
    print()
    print(cond)
    with open(out, "w") as f:
        f.write("| " + " | ".join(head) + " |\n")
        f.write("|" + "|".join("---" for _ in head) + "|\n")
        for r in rows:
            f.write("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |\n")
        f.write("\n" + cond + "\n")


if __name__ == "__main__":
    main()
