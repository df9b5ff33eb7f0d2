#!/usr/bin/env python3
"""Writes sample-data/outcomes/2026-10.jsonl: the business outcomes of the
sample month's calls, as outcome events joined by session, request or
trace id.

  support-copilot         a resolved conversation, per session (~85%)
  contract-extraction     a document processed without correction, per request (~92%)
  sales-research-agent    a research brief a rep used, per trace (~55%)
  internal-knowledge-bot  an answer marked helpful, per request (~75%)
  marketing-drafting      a draft published, per request (~80%)
  everything-else         no success definition

A few conversations are first reported resolved and then reopened (a later
event with success false: the latest wins), and three outcomes name
sessions whose calls are not in the log (they count by workflow only).
Deterministic: run it again and nothing changes.
"""
import json
import pathlib
import random
from datetime import datetime, timedelta, timezone

ROOT = pathlib.Path(__file__).resolve().parent.parent
END = datetime(2026, 10, 31, 23, 59, 59, tzinfo=timezone.utc)
rng = random.Random(20261031)


def ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def fmt(t):
    return min(t, END).strftime("%Y-%m-%dT%H:%M:%SZ")


calls = [json.loads(l) for l in (ROOT / "sample-data" / "gateway" / "2026-10.jsonl").read_text().splitlines()]
out = []

# Support: one outcome per session, after its last call.
sessions = {}
for c in calls:
    if c.get("workflow") == "support-copilot" and c.get("session_id"):
        sessions[c["session_id"]] = max(sessions.get(c["session_id"], ts(c["ts"])), ts(c["ts"]))
reopened = 0
for sid, last in sorted(sessions.items()):
    ok = rng.random() < 0.85
    t = last + timedelta(minutes=10)
    out.append({"type": "outcome", "ts": fmt(t), "workflow": "support-copilot", "session_id": sid, "success": ok})
    if ok and reopened < 5 and rng.random() < 0.05:
        reopened += 1
        out.append({"type": "outcome", "ts": fmt(t + timedelta(hours=6)), "workflow": "support-copilot", "session_id": sid, "success": False})

rates = {"contract-extraction": 0.92, "internal-knowledge-bot": 0.75, "marketing-drafting": 0.80}
for c in calls:
    w = c.get("workflow")
    if w in rates:
        ok = rng.random() < rates[w]
        row = {"type": "outcome", "ts": fmt(ts(c["ts"]) + timedelta(minutes=30)), "request_id": c["request_id"], "success": ok}
        if w == "contract-extraction" and ok:
            row["value_usd"] = 18.0  # a paralegal's hour saved
        out.append(row)
    elif w == "sales-research-agent":
        out.append({"type": "outcome", "ts": fmt(ts(c["ts"]) + timedelta(days=1)), "trace_id": c["trace_id"], "success": rng.random() < 0.55})

for i in range(3):
    out.append({"type": "outcome", "ts": f"2026-10-2{i}T12:00:00Z", "workflow": "support-copilot", "session_id": f"sess_phone_{i}", "success": True})

out.sort(key=lambda r: r["ts"])
dest = ROOT / "sample-data" / "outcomes"
dest.mkdir(exist_ok=True)
(dest / "2026-10.jsonl").write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in out))
