#!/usr/bin/env python3
"""Writes sample-data/evals/: 500 eval cases run by the paper's three
configurations (table VI), and the same cases as a CSV of test ids for the
promptfoo fixture run (tests/fixtures/gate/promptfoo/).

The pass/fail pattern is chosen so that, against the baseline, the
aggressive configuration loses 37 cases the baseline passed and gains 2,
and the gated configuration loses 7 and gains 9: pass counts 475, 440 and
477 of 500. Costs per case vary around the table's cost per call and sum
exactly to 500 times it (in micro-dollars). Deterministic: run it again and
nothing changes.
"""
import json
import pathlib
import random

ROOT = pathlib.Path(__file__).resolve().parent.parent
N = 500
CASES = [f"c{i:03d}" for i in range(1, N + 1)]

rng = random.Random(20261028)
baseline_fail = set(rng.sample(CASES, 25))
passes_b = [c for c in CASES if c not in baseline_fail]
fails_b = sorted(baseline_fail)

aggr_lost = set(rng.sample(passes_b, 37))
aggr_won = set(rng.sample(fails_b, 2))
gated_lost = set(rng.sample(passes_b, 7))
gated_won = set(rng.sample(fails_b, 9))

CONFIGS = [
    # name, file, cost per call in micro-dollars, mean latency, passes
    ("Baseline", "baseline", 33_600, 1840, lambda c: c not in baseline_fail),
    ("Aggressive compression", "aggressive-compression", 12_100, 1310,
     lambda c: (c not in baseline_fail and c not in aggr_lost) or c in aggr_won),
    ("Gated compression + routing", "gated-compression-routing", 14_900, 1190,
     lambda c: (c not in baseline_fail and c not in gated_lost) or c in gated_won),
]


def costs(mean_micro: int) -> list[int]:
    """Per-case costs around the mean that sum to exactly N * mean."""
    w = [0.7 + 0.6 * rng.random() for _ in CASES]
    scale = mean_micro * N / sum(w)
    out = [round(x * scale) for x in w]
    out[-1] += mean_micro * N - sum(out)
    return out


def main() -> None:
    outdir = ROOT / "sample-data" / "evals"
    outdir.mkdir(parents=True, exist_ok=True)
    table = {}
    for name, stem, mean, lat, passed in CONFIGS:
        cs = costs(mean)
        lines = []
        for i, (case, cost) in enumerate(zip(CASES, cs)):
            ok = passed(case)
            score = round(0.8 + 0.2 * rng.random(), 2) if ok else round(0.1 + 0.55 * rng.random(), 2)
            row = {
                "config": name,
                "case": case,
                "passed": ok,
                "score": score,
                "cost_usd": cost / 1e6,
                "workflow": "support-copilot",
                "ts": f"2026-10-28T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
                "latency_ms": int(lat * (0.6 + 0.8 * rng.random())),
            }
            lines.append(json.dumps(row, separators=(",", ":")))
            table.setdefault(name, {})[case] = {"passed": ok, "score": score, "cost_usd": cost / 1e6}
        (outdir / f"{stem}.jsonl").write_text("\n".join(lines) + "\n")
    pf = ROOT / "tests" / "fixtures" / "gate" / "promptfoo"
    pf.mkdir(parents=True, exist_ok=True)
    (pf / "cases.json").write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    (pf / "tests.csv").write_text("case\n" + "\n".join(CASES) + "\n")


if __name__ == "__main__":
    main()
