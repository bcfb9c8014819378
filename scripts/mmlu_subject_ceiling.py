#!/usr/bin/env python3
"""How far can a router get on RouteLLM's MMLU outcomes by subject alone?

Reads the recorded GPT-4-1106 vs Mixtral-8x7B outcomes shipped in
agents/replay/data/routellm (contaminated prompts are not removed here, so
the figures are for all 14,042 questions) and, on random 20/80 splits,
measures RouteLLM's APGR (PGR at 0, 10, ..., 100 % strong calls, trapezoid
rule) of two subject-only routers:

  from-train: a subject's score is (strong-only wins - weak-only wins) on
              the 20 % training part, shrunk toward 0 (prior of 2 questions);
  oracle:     the same score measured on the held-out part itself, the best
              any router that sees only the subject could do.

    python3 scripts/mmlu_subject_ceiling.py [--splits 3]
"""
import argparse
import csv
import glob
import gzip
import os
import random
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "agents", "replay", "data", "routellm", "evals", "mmlu", "responses")


def load():
    rows = []
    for f in sorted(glob.glob(os.path.join(DATA, "mmlu_*.csv.gz"))):
        subject = os.path.basename(f)[len("mmlu_"):-len(".csv.gz")]
        with gzip.open(f, "rt", newline="") as fh:
            for line, r in enumerate(csv.DictReader(fh), start=2):
                try:
                    weak = r["mistralai/Mixtral-8x7B-Instruct-v0.1"] == "True"
                    strong = r["gpt-4-1106-preview"] == "True"
                except KeyError as e:
                    raise SystemExit(f"{f}:{line}: missing column {e}")
                rows.append((subject, weak, strong))
    if not rows:
        raise SystemExit(f"no outcome files under {DATA}")
    return rows


def apgr(test, score):
    order = sorted(range(len(test)), key=lambda i: -score[i])
    n = len(test)
    qw = sum(t[1] for t in test) / n
    qs = sum(t[2] for t in test) / n
    pgr = []
    for d in range(11):
        strong = set(order[: round(n * d / 10)])
        q = sum((t[2] if i in strong else t[1]) for i, t in enumerate(test)) / n
        pgr.append((q - qw) / (qs - qw))
    return sum((pgr[i] + pgr[i + 1]) / 2 for i in range(10)) / 10


def gain_by_subject(rows, prior):
    g = defaultdict(lambda: [0, 0])
    for subject, weak, strong in rows:
        g[subject][0] += (strong and not weak) - (weak and not strong)
        g[subject][1] += 1
    return {s: v[0] / (v[1] + prior) for s, v in g.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", type=int, default=3)
    args = ap.parse_args()
    rows = load()
    print(f"{len(rows)} recorded MMLU questions")
    for seed in range(args.splits):
        rng = random.Random(seed)
        shuffled = rows[:]
        rng.shuffle(shuffled)
        k = len(shuffled) // 5
        train, test = shuffled[:k], shuffled[k:]
        tie = [rng.random() * 1e-9 for _ in test]  # random order within a subject
        g_train = gain_by_subject(train, prior=2.0)
        g_test = gain_by_subject(test, prior=0.0)
        a_train = apgr(test, [g_train.get(t[0], 0) + e for t, e in zip(test, tie)])
        a_oracle = apgr(test, [g_test[t[0]] + e for t, e in zip(test, tie)])
        print(f"split {seed}: APGR from-train {a_train:.3f}, subject oracle {a_oracle:.3f}")


if __name__ == "__main__":
    main()
