#!/usr/bin/env python3
"""Expected values for the eval gate's statistics, from scipy and
statsmodels (independent of aifin's Rust code). Run by hand:

    python3.12 -m venv /tmp/stats && /tmp/stats/bin/pip install scipy statsmodels
    /tmp/stats/bin/python scripts/gate-oracle.py > tests/fixtures/gate/oracle.json

The Rust tests read the JSON; they need no network.
"""
import json
import math

import numpy as np
import scipy
import statsmodels
from scipy.optimize import brentq
from scipy.stats import binom
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

Z = 1.959963984540054  # scipy.stats.norm.ppf(0.975)


def wilson(x, n):
    lo, hi = proportion_confint(x, n, alpha=0.05, method="wilson")
    return [max(0.0, lo), min(1.0, hi)]


def mcnemar_exact(b, c):
    return mcnemar([[0, b], [c, 0]], exact=True).pvalue


def mcnemar_midp(b, c):
    m = b + c
    if m == 0:
        return 1.0
    k = min(b, c)
    if b == c:
        return 1.0 - binom.pmf(b, m, 0.5) / 2.0
    exact = min(1.0, 2.0 * binom.cdf(k, m, 0.5))
    return exact - binom.pmf(k, m, 0.5)


def tango(n12, n21, n):
    """Tango's score interval for a paired difference (candidate - baseline)."""

    def z(d):
        a = 2.0 * n
        b = -n12 - n21 + (2.0 * n - n12 + n21) * d
        c = -n21 * d * (1.0 - d)
        q = (math.sqrt(b * b - 4.0 * a * c) - b) / (2.0 * a)
        var = n * (2.0 * q + d * (1.0 - d))
        num = n12 - n21 - n * d
        if num == 0:
            return 0.0
        return num / math.sqrt(var)

    est = (n12 - n21) / n
    eps = 1e-12
    lo = -1.0 if z(-1.0 + eps) <= Z else brentq(lambda d: z(d) - Z, -1.0 + eps, est)
    hi = 1.0 if z(1.0 - eps) >= -Z else brentq(lambda d: z(d) + Z, est, 1.0 - eps)
    return [lo, hi]


def newcombe(x1, n1, x2, n2):
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    d = p1 - p2
    return [d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)]


def cost_per_success_log(costs, successes):
    costs = np.asarray(costs, dtype=float)
    s = np.asarray(successes, dtype=float)
    n = len(costs)
    r = costs.sum() / s.sum()
    se = math.sqrt(((costs - r * s) ** 2).sum() / (n * (n - 1))) / s.mean()
    return [r, r * math.exp(-Z * se / r), r * math.exp(Z * se / r)]


out = {
    "versions": {"scipy": scipy.__version__, "statsmodels": statsmodels.__version__},
    "z": Z,
    "wilson": [],
    "mcnemar": [],
    "tango": [],
    "newcombe": [],
    "cost_per_success": [],
}
for x, n in [(0, 10), (10, 10), (475, 500), (440, 500), (1, 1), (3, 7), (0, 1), (999, 1000)]:
    out["wilson"].append({"x": x, "n": n, "ci": wilson(x, n)})
for b, c in [(0, 0), (5, 5), (0, 12), (12, 0), (3, 9), (40, 38), (7, 0), (1, 2), (600, 650)]:
    out["mcnemar"].append({"b": b, "c": c, "exact": mcnemar_exact(b, c), "midp": mcnemar_midp(b, c)})
for n12, n21, n in [(0, 0, 500), (9, 7, 500), (2, 37, 500), (10, 0, 10), (0, 10, 10), (5, 5, 20), (0, 3, 40), (25, 1, 60)]:
    out["tango"].append({"n12": n12, "n21": n21, "n": n, "ci": tango(n12, n21, n)})
for x1, n1, x2, n2 in [(477, 500, 475, 500), (440, 500, 475, 500), (0, 10, 10, 10), (5, 20, 5, 20), (10, 10, 0, 10)]:
    out["newcombe"].append({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "ci": newcombe(x1, n1, x2, n2)})
rng = np.random.default_rng(7)
for n, p in [(500, 0.95), (50, 0.5), (20, 0.9)]:
    costs = [round(float(v), 9) for v in rng.gamma(4.0, 0.0084, n)]
    succ = [int(v) for v in (rng.random(n) < p)]
    r, lo, hi = cost_per_success_log(costs, succ)
    out["cost_per_success"].append({"costs": costs, "successes": succ, "r": r, "ci": [lo, hi]})

# The paper's table VI from sample-data/evals/ (the files `aifin gate`
# reads in the integration tests), computed here from the rows.
root = __import__("pathlib").Path(__file__).resolve().parent.parent
configs = {}
for stem in ["baseline", "aggressive-compression", "gated-compression-routing"]:
    rows = [json.loads(l) for l in (root / "sample-data" / "evals" / f"{stem}.jsonl").read_text().splitlines()]
    configs[rows[0]["config"]] = {r["case"]: r for r in rows}
table = {"configs": {}, "comparisons": {}}
for name, rows in configs.items():
    rs = list(rows.values())
    costs = [r["cost_usd"] for r in rs]
    succ = [int(r["passed"]) for r in rs]
    r, lo, hi = cost_per_success_log(costs, succ)
    table["configs"][name] = {
        "cases": len(rs),
        "passed": sum(succ),
        "pass_rate_ci": wilson(sum(succ), len(rs)),
        "cost_usd": math.fsum(costs),
        "cost_per_success": r,
        "cost_per_success_ci": [lo, hi],
    }
base = configs["Baseline"]
for name in ["Aggressive compression", "Gated compression + routing"]:
    cand = configs[name]
    b = sum(1 for k in base if base[k]["passed"] and not cand[k]["passed"])
    c = sum(1 for k in base if cand[k]["passed"] and not base[k]["passed"])
    table["comparisons"][name] = {
        "baseline_only_passed": b,
        "candidate_only_passed": c,
        "mcnemar_exact_p": mcnemar_exact(b, c),
        "mcnemar_midp_p": mcnemar_midp(b, c),
        "pass_rate_diff_ci": tango(c, b, len(base)),
    }
out["table_vi"] = table
print(json.dumps(out, indent=1))
