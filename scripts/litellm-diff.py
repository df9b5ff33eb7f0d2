#!/usr/bin/env python3
"""Differential pricing harness: aifin's per-call cost versus LiteLLM's own calculator.

For every catalog entry whose mode is chat, completion or responses (LiteLLM's
`model_prices_and_context_window.json`, the same data aifin embeds), this script
generates deterministic calls that exercise each pricing feature the entry has
(cache reads and writes, long-context thresholds, tiered pricing, batch, service
tiers, region / fast-mode multipliers, Vertex regional endpoints, aliases,
fine-tuned names, off-peak windows), prices each one with
`litellm.cost_per_token`, writes each one as one log line in one of aifin's
input formats (rotating through aifin JSONL, LiteLLM StandardLoggingPayload,
OTel OTLP/JSON spans, OpenAI chat.completion and Anthropic message objects),
ingests the lines with aifin, reads aifin's ledger by workflow (one workflow per
call) and reports every disagreement.

Setup (nothing is installed by this script; it only needs `import litellm` to
work in the interpreter that runs it):

    python3.12 -m venv /tmp/venv/litellm && /tmp/venv/litellm/bin/pip install litellm==1.110.2

Run (LITELLM_LOCAL_MODEL_COST_MAP=True makes LiteLLM use its bundled price map
instead of fetching one; the script also sets it itself before importing litellm):

    LITELLM_LOCAL_MODEL_COST_MAP=True /tmp/venv/litellm/bin/python scripts/litellm-diff.py \\
        --aifin target/release/aifin --out /tmp/litellm-diff [--sample 500] [--fixture-dir DIR2]

Outputs in --out: cases.jsonl (the log lines), expected.json (LiteLLM's answer per
case), ledger.db (aifin's ledger), report.md and report.json. With --fixture-dir,
a deterministic stratified sample of --sample cases is written there as
litellm-cases.jsonl and litellm-expected.json, for an offline Rust test.

aifin runs with cwd=--out, AIFIN_CONFIG / AIFIN_DB unset and XDG_CONFIG_HOME /
XDG_DATA_HOME under --out, so no aifin.toml is picked up.

Model names: as in the brief, each case names the model as LiteLLM is called, the
catalog key without its `<provider>/` prefix, with the provider beside it
(`provider_relative`). Every such case is repeated with the full catalog key as the
model name (`full_key`, ids after the primary set), which separates name
resolution from the pricing rules. Each difference is labelled with its likely
cause (aifin read the line differently / resolved no entry / priced another entry,
LiteLLM priced another entry, or a pricing rule), using the call aifin stored in
its ledger (read-only, diagnostics only).

Times: the lines carry fixed times (2026-10-05T10:00:00Z, or epoch 1790000000 in
the LiteLLM and OTel formats); both fall inside the catalog's off_peak_pricing
windows. LiteLLM is priced with its billing clock pinned to each line's time;
`peak_hours` / `off_peak_hours` cases cover those windows explicitly.
"""

from __future__ import annotations

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import argparse
import collections
import datetime as dt
import hashlib
import json
import random
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

try:
    import litellm
    from litellm.types.utils import (
        CacheCreationTokenDetails,
        CompletionTokensDetailsWrapper,
        PromptTokensDetailsWrapper,
        Usage,
    )
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"cannot import litellm ({exc}).\n"
        "Make the venv: python3.12 -m venv /tmp/venv/litellm && "
        "/tmp/venv/litellm/bin/pip install litellm==1.110.2\n"
        "then run this script with /tmp/venv/litellm/bin/python\n"
    )
    sys.exit(2)

try:  # pins the clock LiteLLM's off-peak windows are evaluated at
    from litellm._internal_context import pinned_billing_time
except ImportError:  # pragma: no cover - older LiteLLM
    pinned_billing_time = None

litellm.suppress_debug_info = True

EXPECTED_LITELLM_VERSION = "1.110.2"
PRICED_MODES = ("chat", "completion", "responses")
FORMATS = ("aifin", "litellm", "otel", "openai", "anthropic")
SERVICE_TIERS = ("priority", "flex", "balanced", "ultrafast")  # LiteLLM's *_<tier> cost-key suffixes
TS_DEFAULT = "2026-10-05T10:00:00Z"  # a Monday, inside the catalog's off-peak windows
EPOCH_DEFAULT = 1790000000  # 2026-09-21T14:13:20Z, also a Monday inside the off-peak windows
TS_PEAK = "2026-10-05T02:00:00Z"  # a Monday outside every off-peak window
TS_OFF_PEAK = "2026-10-05T12:00:00Z"  # a Monday well inside the off-peak windows
THRESHOLD_RE = re.compile(r"_above_(\d+)(k?)_tokens")
TOKEN_PRICE_RE = re.compile(r"^(input_cost_per_token|output_cost_per_token)")
FT_SUFFIX = ":acme:suffix:abc123"

SCRIPT_DIR = Path(__file__).resolve().parent
DEFAULT_CATALOG = SCRIPT_DIR.parent / "assets" / "model_prices_and_context_window.json"


# --------------------------------------------------------------------------- helpers


def iso_to_epoch(ts: str) -> int:
    return int(dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp())


def epoch_to_iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seeded_rng(*parts: str) -> random.Random:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return random.Random(int(digest[:16], 16))


def hexid(seed: str, n: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def threshold_value(num: str, k: str) -> int:
    return int(num) * (1000 if k else 1)


def entry_thresholds(entry: dict) -> list[int]:
    """Every N of the `*_above_<N>_tokens` keys the entry prices (any class, tier or batch)."""
    found = set()
    for key, value in entry.items():
        if value is None:
            continue
        for m in THRESHOLD_RE.finditer(key):
            found.add(threshold_value(m.group(1), m.group(2)))
    return sorted(found)


def has_token_prices(entry: dict) -> bool:
    """LiteLLM can price a token call for this entry at all (flat or tiered token rates)."""
    if any(TOKEN_PRICE_RE.match(k) and isinstance(v, (int, float)) for k, v in entry.items()):
        return True
    tiers = entry.get("tiered_pricing")
    if isinstance(tiers, list):
        return any(
            isinstance(t, dict) and ("input_cost_per_token" in t or "output_cost_per_token" in t) for t in tiers
        )
    return False


def has_key_prefix(entry: dict, prefix: str) -> bool:
    return any(k.startswith(prefix) and v is not None for k, v in entry.items())


def tier_has(entry: dict, key: str) -> bool:
    tiers = entry.get("tiered_pricing")
    return isinstance(tiers, list) and any(isinstance(t, dict) and key in t for t in tiers)


def map_provider(litellm_provider: str) -> str:
    """The custom_llm_provider cost_per_token accepts for a catalog litellm_provider."""
    if litellm_provider.startswith("vertex_ai"):
        return "vertex_ai"  # vertex_ai-language-models, vertex_ai-anthropic_models, ...
    return litellm_provider


def known_provider_names() -> set[str]:
    names = set()
    for p in getattr(litellm, "provider_list", []):
        names.add(getattr(p, "value", p))
    return names


def model_and_provider(key: str, entry: dict) -> tuple[str, str]:
    lp = entry["litellm_provider"]
    provider = map_provider(lp)
    for prefix in (lp + "/", provider + "/"):
        if key.startswith(prefix):
            return key[len(prefix) :], provider
    return key, provider


# --------------------------------------------------------------------------- cases


class Case:
    __slots__ = (
        "cid",
        "key",
        "model",
        "provider",
        "entry_provider",
        "kind",
        "name_form",
        "u",
        "cr",
        "w5",
        "w1",
        "out",
        "r",
        "batch",
        "tier",
        "geo",
        "speed",
        "region",
        "ts",
        "fmt",
        "litellm_usd",
        "litellm_error",
        "litellm_error_message",
        "litellm_key",
        "line",
    )

    def __init__(self, **kw):
        for s in self.__slots__:
            setattr(self, s, kw.get(s))
        for s in ("u", "cr", "w5", "w1", "out", "r"):
            if getattr(self, s) is None:
                setattr(self, s, 0)
        if self.batch is None:
            self.batch = False
        if self.ts is None:
            self.ts = TS_DEFAULT
        if self.name_form is None:
            self.name_form = "provider_relative"

    @property
    def prompt(self) -> int:
        return self.u + self.cr + self.w5 + self.w1

    def tokens(self) -> dict:
        t = {
            "uncached_input": self.u,
            "cache_read": self.cr,
            "cache_write_5m": self.w5,
            "cache_write_1h": self.w1,
            "output": self.out,
            "reasoning": self.r,
            "prompt_tokens": self.prompt,
        }
        for name in ("batch", "tier", "geo", "speed", "region"):
            v = getattr(self, name)
            if v:
                t[{"tier": "service_tier", "geo": "inference_geo", "region": "vertex_location"}.get(name, name)] = v
        return t


def split_prompt(rng: random.Random, total: int, with_read: bool, with_write: bool) -> tuple[int, int, int]:
    """Split a prompt of `total` tokens into (uncached, cache_read, cache_write_5m)."""
    cr = rng.randint(total // 20, total // 8) if with_read else 0
    w5 = rng.randint(total // 50, total // 20) if with_write else 0
    return total - cr - w5, cr, w5


def generate_cases(catalog: dict) -> tuple[list[Case], list[dict]]:
    raw: list[dict] = []
    skipped: list[dict] = []
    providers = known_provider_names()

    def add(key, model, provider, entry_provider, kind, rng, **kw):
        kw.setdefault("out", rng.randint(100, 500))
        raw.append(
            dict(key=key, model=model, provider=provider, entry_provider=entry_provider, kind=kind, name_form="provider_relative", **kw)
        )

    for key, entry in catalog.items():
        if key == "sample_spec" or not isinstance(entry, dict):
            continue
        if "litellm_provider" not in entry and "alias_of" not in entry:
            continue  # not a model entry (e.g. fallback_generalizations)
        alias_target = entry.get("alias_of")
        if alias_target is not None:
            target = catalog.get(alias_target)
            if not isinstance(target, dict) or target.get("mode") not in PRICED_MODES:
                continue
            if not has_token_prices(target):
                skipped.append({"key": key, "reason": f"alias of {alias_target}, which has no token prices"})
                continue
            rng = seeded_rng(key, "alias")
            prefix = key.split("/", 1)[0] if "/" in key else None
            if prefix is not None and prefix in providers:
                model, provider = key[len(prefix) + 1 :], prefix
            else:
                model, provider = key, map_provider(target["litellm_provider"])
            u, cr, w5 = split_prompt(rng, rng.randint(1500, 6000), "cache_read_input_token_cost" in target, False)
            add(key, model, provider, target["litellm_provider"], "alias", rng, u=u, cr=cr)
            continue
        if entry.get("mode") not in PRICED_MODES:
            continue
        if not has_token_prices(entry):
            skipped.append({"key": key, "reason": "no per-token or tiered token prices (LiteLLM cannot price a token call)"})
            continue
        lp = entry["litellm_provider"]
        model, provider = model_and_provider(key, entry)
        rng = seeded_rng(key)

        def A(kind, **kw):
            add(key, kw.pop("model", model), provider, lp, kind, rng, **kw)

        has_read = "cache_read_input_token_cost" in entry or tier_has(entry, "cache_read_input_token_cost")
        has_write = "cache_creation_input_token_cost" in entry or tier_has(entry, "cache_creation_input_token_cost")
        has_write_1h = "cache_creation_input_token_cost_above_1hr" in entry
        has_reasoning = "output_cost_per_reasoning_token" in entry or tier_has(
            entry, "output_cost_per_reasoning_token"
        )

        A("plain", u=rng.randint(1000, 5000))
        if has_read:
            A("cache_read", u=rng.randint(1000, 5000), cr=rng.randint(500, 3000))
        if has_write:
            A("cache_write_5m", u=rng.randint(1000, 5000), w5=rng.randint(200, 2000))
        if has_write_1h:
            A("cache_write_1h", u=rng.randint(1000, 5000), w1=rng.randint(200, 2000))
        if has_reasoning:
            out = rng.randint(200, 500)
            A("reasoning", u=rng.randint(1000, 5000), out=out, r=rng.randint(50, out - 50))
        thresholds = entry_thresholds(entry)
        for n in thresholds:
            u, cr, w5 = split_prompt(rng, n + 1, has_read, has_write)
            A("above_threshold", u=u, cr=cr, w5=w5)
            u, cr, w5 = split_prompt(rng, n, has_read, has_write)
            A("at_threshold", u=u, cr=cr, w5=w5)
        tiers = entry.get("tiered_pricing")
        if isinstance(tiers, list):
            for t in tiers:
                rngt = t.get("range") if isinstance(t, dict) else None
                if not (isinstance(rngt, list) and len(rngt) == 2) or "input_cost_per_token" not in t:
                    continue
                lo, hi = int(rngt[0]), int(rngt[1])
                u, cr, w5 = split_prompt(rng, (lo + hi) // 2, has_read, has_write)
                A("tiered_mid", u=u, cr=cr, w5=w5)
                u, cr, w5 = split_prompt(rng, hi, has_read, has_write)
                A("tiered_bound", u=u, cr=cr, w5=w5)
        if any(k.endswith("_batches") for k in entry):
            A("batch", u=rng.randint(1000, 5000), cr=rng.randint(500, 3000) if has_read else 0, batch=True)
            batch_thresholds = sorted(
                {threshold_value(m.group(1), m.group(2)) for k in entry if k.endswith("_batches") for m in THRESHOLD_RE.finditer(k)}
            )
            for n in batch_thresholds:
                u, cr, w5 = split_prompt(rng, n + 1, has_read, False)
                A("batch_above_threshold", u=u, cr=cr, batch=True)
        for tier in SERVICE_TIERS:
            suffix = "_" + tier
            tier_keys = [k for k in entry if k.endswith(suffix) and entry[k] is not None]
            if not tier_keys:
                continue
            A(f"tier_{tier}", u=rng.randint(1000, 5000), cr=rng.randint(500, 3000) if has_read else 0, tier=tier)
            tier_thresholds = sorted(
                {threshold_value(m.group(1), m.group(2)) for k in tier_keys for m in THRESHOLD_RE.finditer(k)}
            )
            for n in tier_thresholds:
                u, cr, w5 = split_prompt(rng, n + 1, has_read, False)
                A(f"tier_{tier}_above_threshold", u=u, cr=cr, tier=tier)
        pse = entry.get("provider_specific_entry")
        if isinstance(pse, dict):
            for name in pse:
                if name == "fast":
                    A("speed_fast", u=rng.randint(1000, 5000), cr=rng.randint(500, 3000) if has_read else 0, speed="fast")
                elif re.fullmatch(r"[a-z]{2,6}", name):
                    A(f"geo_{name}", u=rng.randint(1000, 5000), cr=rng.randint(500, 3000) if has_read else 0, geo=name)
        if entry.get("regional_endpoint_uplift_multiplier") is not None:
            A("vertex_regional", u=rng.randint(1000, 5000), cr=rng.randint(500, 3000) if has_read else 0, region="us-central1")
            A("vertex_global", u=rng.randint(1000, 5000), cr=rng.randint(500, 3000) if has_read else 0, region="global")
        if isinstance(entry.get("off_peak_pricing"), dict):
            # (the default times, TS_DEFAULT and EPOCH_DEFAULT, are inside the windows too)
            A("peak_hours", u=rng.randint(1000, 5000), cr=rng.randint(500, 3000) if has_read else 0, ts=TS_PEAK)
            A("off_peak_hours", u=rng.randint(1000, 5000), cr=rng.randint(500, 3000) if has_read else 0, ts=TS_OFF_PEAK)
        if key.startswith("ft:"):
            A("fine_tuned", model=model + FT_SUFFIX, u=rng.randint(1000, 5000))

    # Control set: the same calls again with the full catalog key as the model name, for every
    # case whose model is the key without its provider prefix. It separates name resolution
    # (provider-relative names) from the pricing rules. Appended, so the primary ids are stable.
    controls = []
    for kw in raw:
        if kw["model"] != kw["key"] and kw["kind"] != "fine_tuned":
            controls.append(dict(kw, model=kw["key"], name_form="full_key"))
    cases = []
    for i, kw in enumerate(raw + controls, start=1):
        cases.append(Case(cid=f"c{i:05d}", **kw))
    return cases, skipped


# --------------------------------------------------------------------------- formats


def eligible_formats(c: Case) -> list[str]:
    fmts = ["aifin"]
    if not c.batch:
        fmts.append("litellm")  # batch is only expressible in aifin JSONL (`"batch": true`)
    if not (c.batch or c.geo or c.speed or c.region):
        fmts.append("otel")  # OTel carries no geo / speed / region / batch
        if c.provider == "openai" and c.entry_provider == "openai" and c.w1 == 0:
            fmts.append("openai")  # OpenAI reports one cache-write count: no 1-hour split
    if (
        c.provider == "anthropic"
        and c.entry_provider == "anthropic"
        and not (c.batch or c.region or c.r)  # Anthropic reports no reasoning split
        and c.tier in (None, "priority")  # Anthropic's usage.service_tier: standard / priority / batch
    ):
        fmts.append("anthropic")
    return fmts


def assign_formats(cases: list[Case]) -> None:
    counters: dict = collections.Counter()
    for c in cases:
        fmts = eligible_formats(c)
        group = (c.kind, tuple(fmts))
        c.fmt = fmts[counters[group] % len(fmts)]
        counters[group] += 1


def line_epoch(c: Case) -> int:
    """The call's time as its log line states it (formats with epoch times use EPOCH_DEFAULT by default)."""
    if c.fmt in ("litellm", "otel") and c.ts == TS_DEFAULT:
        return EPOCH_DEFAULT
    return iso_to_epoch(c.ts)


def line_for(c: Case) -> dict:
    epoch = line_epoch(c)
    if c.fmt == "aifin":
        o = {
            "ts": c.ts,
            "request_id": c.cid,
            "provider": c.provider,
            "model": c.model,
            "workflow": c.cid,
            "usage": {
                "uncached_input": c.u,
                "cache_read": c.cr,
                "cache_write_5m": c.w5,
                "cache_write_1h": c.w1,
                "output": c.out,
                "reasoning": c.r,
            },
            "batch": bool(c.batch),
        }
        if c.tier:
            o["service_tier"] = c.tier
        if c.geo:
            o["inference_geo"] = c.geo
        if c.speed:
            o["speed"] = c.speed
        if c.region:
            o["region"] = c.region
        return o
    if c.fmt == "litellm":
        start = float(epoch)
        usage = {
            "prompt_tokens": c.prompt,
            "completion_tokens": c.out,
            "total_tokens": c.prompt + c.out,
            "prompt_tokens_details": {
                "cached_tokens": c.cr,
                "cache_creation_tokens": c.w5 + c.w1,
                "cache_creation_token_details": {
                    "ephemeral_5m_input_tokens": c.w5,
                    "ephemeral_1h_input_tokens": c.w1,
                },
            },
            "completion_tokens_details": {"reasoning_tokens": c.r},
        }
        breakdown = {}
        if c.tier:
            usage["service_tier"] = c.tier
            breakdown["service_tier"] = c.tier
        if c.geo:
            usage["inference_geo"] = c.geo
        if c.speed:
            usage["speed"] = c.speed
        if c.region:
            breakdown["vertex_location"] = c.region
        o = {
            "id": c.cid,
            "call_type": "acompletion",
            "status": "success",
            "custom_llm_provider": c.provider,
            "startTime": start,
            "endTime": start + 1.0,
            "model": c.model,
            "request_tags": [f"workflow:{c.cid}"],
            "metadata": {"usage_object": usage},
        }
        if breakdown:
            o["cost_breakdown"] = breakdown
        return o
    if c.fmt == "otel":
        start_ns = str(epoch * 1_000_000_000)
        end_ns = str(epoch * 1_000_000_000 + 1_000_000_000)

        def s(k, v):
            return {"key": k, "value": {"stringValue": v}}

        def i(k, v):
            return {"key": k, "value": {"intValue": str(v)}}

        attrs = [
            s("gen_ai.provider.name", c.provider),
            s("gen_ai.request.model", c.model),
            s("gen_ai.response.id", c.cid),
            s("workflow", c.cid),
            i("gen_ai.usage.input_tokens", c.prompt),
            i("gen_ai.usage.cache_read.input_tokens", c.cr),
            i("gen_ai.usage.cache_creation.input_tokens", c.w5 + c.w1),
            i("gen_ai.usage.cache_creation.ephemeral_1h_input_tokens", c.w1),
            i("gen_ai.usage.output_tokens", c.out),
            i("gen_ai.usage.reasoning.output_tokens", c.r),
        ]
        if c.tier:
            attrs.append(s("openai.response.service_tier", c.tier))
        return {
            "resourceSpans": [
                {
                    "resource": {"attributes": []},
                    "scopeSpans": [
                        {
                            "spans": [
                                {
                                    "traceId": hexid("trace" + c.cid, 32),
                                    "spanId": hexid("span" + c.cid, 16),
                                    "name": f"chat {c.model}",
                                    "kind": 3,
                                    "startTimeUnixNano": start_ns,
                                    "endTimeUnixNano": end_ns,
                                    "attributes": attrs,
                                }
                            ]
                        }
                    ],
                }
            ]
        }
    if c.fmt == "openai":
        resp = {
            "id": f"chatcmpl-{c.cid}",
            "object": "chat.completion",
            "created": epoch,
            "model": c.model,
            "usage": {
                "prompt_tokens": c.prompt,
                "completion_tokens": c.out,
                "total_tokens": c.prompt + c.out,
                "prompt_tokens_details": {"cached_tokens": c.cr, "cache_write_tokens": c.w5 + c.w1},
                "completion_tokens_details": {"reasoning_tokens": c.r},
            },
        }
        if c.tier:
            resp["service_tier"] = c.tier
        return {"ts": c.ts, "provider": "openai", "workflow": c.cid, "response": resp}
    if c.fmt == "anthropic":
        usage = {
            "input_tokens": c.u,
            "cache_read_input_tokens": c.cr,
            "cache_creation_input_tokens": c.w5 + c.w1,
            "cache_creation": {"ephemeral_5m_input_tokens": c.w5, "ephemeral_1h_input_tokens": c.w1},
            "output_tokens": c.out,
            "service_tier": c.tier or "standard",
        }
        if c.geo:
            usage["inference_geo"] = c.geo
        if c.speed:
            usage["speed"] = c.speed
        return {
            "ts": c.ts,
            "provider": "anthropic",
            "workflow": c.cid,
            "response": {
                "id": f"msg_{c.cid}",
                "type": "message",
                "role": "assistant",
                "model": c.model,
                "content": [],
                "stop_reason": "end_turn",
                "usage": usage,
            },
        }
    raise ValueError(c.fmt)


# --------------------------------------------------------------------------- LiteLLM


def litellm_usage(c: Case) -> Usage:
    usage = Usage(
        prompt_tokens=c.prompt,
        completion_tokens=c.out,
        total_tokens=c.prompt + c.out,
        prompt_tokens_details=PromptTokensDetailsWrapper(
            cached_tokens=c.cr,
            cache_creation_tokens=c.w5 + c.w1,
            cache_creation_token_details=CacheCreationTokenDetails(
                ephemeral_5m_input_tokens=c.w5, ephemeral_1h_input_tokens=c.w1
            ),
        ),
        completion_tokens_details=CompletionTokensDetailsWrapper(reasoning_tokens=c.r),
    )
    if c.geo:
        usage.inference_geo = c.geo
    if c.speed:
        usage.speed = c.speed
    return usage


_key_cache: dict = {}


def litellm_resolved_key(model: str, provider: str) -> str | None:
    """The catalog entry LiteLLM prices (model, provider) from; diagnostics only."""
    k = (model, provider)
    if k not in _key_cache:
        # cost_per_token first strips a repeated `<provider>/` prefix ("perplexity/perplexity/x" -> "perplexity/x")
        prefix = provider + "/"
        while model.startswith(prefix) and model[len(prefix) :].startswith(prefix):
            model = model[len(prefix) :]
        try:
            info = litellm.get_model_info(model=model, custom_llm_provider=provider)
            _key_cache[k] = info.get("key")
        except Exception:  # noqa: BLE001 - diagnostic only
            _key_cache[k] = None
    return _key_cache[k]


def price_with_litellm(c: Case) -> None:
    kwargs = dict(model=c.model, custom_llm_provider=c.provider, usage_object=litellm_usage(c))
    if c.tier:
        kwargs["service_tier"] = c.tier
    if c.batch:
        kwargs["call_type"] = "retrieve_batch"
    if c.region:
        kwargs["vertex_location"] = c.region
    moment = dt.datetime.fromtimestamp(line_epoch(c), dt.timezone.utc)  # the time the log line carries
    try:
        if pinned_billing_time is not None:
            with pinned_billing_time(moment):
                prompt_cost, completion_cost = litellm.cost_per_token(**kwargs)
        else:
            prompt_cost, completion_cost = litellm.cost_per_token(**kwargs)
        c.litellm_usd = float(prompt_cost) + float(completion_cost)
        c.litellm_error = None
    except Exception as exc:  # noqa: BLE001 - every LiteLLM failure is a recorded outcome
        c.litellm_usd = None
        c.litellm_error = f"litellm error: {type(exc).__name__}"
        c.litellm_error_message = str(exc).splitlines()[0][:300] if str(exc) else ""
    c.litellm_key = litellm_resolved_key(c.model, c.provider)


# --------------------------------------------------------------------------- aifin


def case_fields(c):
    """What a case is and what LiteLLM said of it (for the report and the fixture)."""
    return {
        "key": c.key,
        "model": c.model,
        "provider": c.provider,
        "format": c.fmt,
        "kind": c.kind,
        "name_form": c.name_form,
        "tokens": c.tokens(),
        "litellm_usd": c.litellm_usd,
        "litellm_error": c.litellm_error,
        "litellm_key": c.litellm_key,
    }


def run_aifin(binary: str, out: Path) -> tuple[dict, list, dict, dict]:
    db = out / "ledger.db"
    for p in (db, Path(str(db) + "-wal"), Path(str(db) + "-shm")):
        if p.exists():
            p.unlink()
    env = {k: v for k, v in os.environ.items() if k not in ("AIFIN_CONFIG", "AIFIN_DB")}
    env["XDG_CONFIG_HOME"] = str(out / "xdg")
    env["XDG_DATA_HOME"] = str(out / "xdg-data")
    (out / "xdg").mkdir(exist_ok=True)
    (out / "xdg-data").mkdir(exist_ok=True)
    for stale in (out / "aifin.toml",):
        if stale.exists():
            raise SystemExit(f"{stale} exists: remove it, aifin would read it as its config")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [binary, "--db", str(db), *args], cwd=out, env=env, capture_output=True, text=True, timeout=900
        )

    ing = run("ingest", "--json", str(out / "cases.jsonl"))
    if ing.returncode != 0:
        raise SystemExit(f"aifin ingest failed ({ing.returncode}):\n{ing.stdout}\n{ing.stderr}")
    ingest_summary = json.loads(ing.stdout)
    led = run("ledger", "--by", "workflow", "--json")
    if led.returncode != 0:
        raise SystemExit(f"aifin ledger failed ({led.returncode}):\n{led.stdout}\n{led.stderr}")
    ledger = json.loads(led.stdout)
    rows = {r["key"]: r for r in ledger.get("rows", [])}
    rej = run("rejects", "--json", "--limit", "1000000")
    if rej.returncode != 0:
        rej = run("rejects", "--json")
    rejects: list = []
    if rej.returncode == 0:
        try:
            rejects = json.loads(rej.stdout)
        except json.JSONDecodeError:
            rejects = [{"raw": rej.stdout}]
    else:
        plain = run("rejects")
        rejects = [{"raw": plain.stdout or plain.stderr}]
    prices: dict = {}
    pr = run("prices", "--json")
    if pr.returncode == 0:
        try:
            for r in json.loads(pr.stdout):
                prices.setdefault(r.get("model"), set()).add(r.get("price_key"))
        except (json.JSONDecodeError, AttributeError, TypeError):
            pass
    return rows, rejects, ingest_summary, prices, read_parsed_calls(db)


PARSED_COLUMNS = (
    "workflow", "provider", "model", "price_key", "uncached_input", "cache_read", "cache_write_5m",
    "cache_write_1h", "output", "reasoning", "batch", "service_tier", "inference_geo", "speed", "region",
)


def read_parsed_calls(db: Path) -> dict:
    """Diagnostics only: what aifin understood of each line, read from its ledger (read-only).

    Tolerates schema changes: a missing column or table just means no parse diagnostics.
    """
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        have = {r[1] for r in con.execute("PRAGMA table_info(calls)")}
        cols = [c for c in PARSED_COLUMNS if c in have]
        if "workflow" not in cols:
            return {}
        parsed = {}
        for row in con.execute(f"SELECT {', '.join(cols)} FROM calls"):
            d = dict(zip(cols, row))
            parsed.setdefault(d["workflow"], d)
        con.close()
        return parsed
    except sqlite3.Error as exc:
        sys.stderr.write(f"note: cannot read parsed calls from {db}: {exc}\n")
        return {}


# --------------------------------------------------------------------------- comparison


def usd(x: float | None) -> str:
    return "null" if x is None else f"{x:.12g}"


def close(a: float, b: float) -> bool:
    return abs(a - b) <= max(1e-9 * abs(b), 1e-9)


def parse_mismatches(c: Case, p: dict | None) -> list[str]:
    """Fields where aifin's stored call differs from the call the line describes."""
    if not p:
        return []
    want = {
        "uncached_input": c.u,
        "cache_read": c.cr,
        "cache_write_5m": c.w5,
        "cache_write_1h": c.w1,
        "output": c.out,
        "reasoning": c.r,
        "batch": 1 if c.batch else 0,
        "service_tier": c.tier,
        "inference_geo": c.geo,
        "speed": c.speed,
        "region": c.region,
        "model": c.model,
    }
    standard = (None, "", "standard", "default", "auto")
    bad = []
    for k, v in want.items():
        if k not in p:
            continue
        got = p[k]
        if k == "batch":
            got = 1 if got else 0
        if k in ("service_tier", "inference_geo", "speed", "region"):
            if (v in standard and got in standard) or (isinstance(got, str) and isinstance(v, str) and got.lower() == v.lower()):
                continue
            if k == "inference_geo" and v is None and got in ("global", "not_available"):
                continue
        elif got == v:
            continue
        bad.append(f"{k}: sent {v!r}, aifin stored {got!r}")
    return bad


def same_entry(c: Case, catalog: dict, price_key: str | None) -> bool:
    if price_key is None:
        return True  # unpriced: nothing resolved
    if price_key == c.key:
        return True
    entry = catalog.get(c.key)
    return isinstance(entry, dict) and entry.get("alias_of") == price_key


def compare(cases: list[Case], rows: dict, rejects: list, prices: dict, parsed: dict, catalog: dict | None = None) -> dict:
    catalog = catalog or {}
    results = []
    reject_lines = {}
    for r in rejects:
        if isinstance(r, dict) and isinstance(r.get("line"), int):
            reject_lines[r["line"]] = r
    for idx, c in enumerate(cases, start=1):
        row = rows.get(c.cid)
        p = parsed.get(c.cid)
        res = {
            "case": c.cid,
            **case_fields(c),
            "aifin_usd": None,
            "aifin_nanousd": None,
            "aifin_price_key": p.get("price_key") if p else None,
            "aifin_model_price_keys": sorted(k for k in prices.get(c.model, set()) if k) or None,
        }
        if row is None or row.get("calls") != 1:
            res["outcome"] = "missing"
            res["cause"] = "missing"
            res["detail"] = (
                f"rejected: {reject_lines[idx]['reason']}" if idx in reject_lines else (
                    f"ledger row has calls={row.get('calls')}" if row else "no ledger row")
            )
            results.append(res)
            continue
        aifin_priced = row.get("unpriced_calls", 0) == 0
        res["aifin_nanousd"] = row["cost_nanousd"] if aifin_priced else None
        res["aifin_usd"] = row["cost_nanousd"] / 1e9 if aifin_priced else None
        res["aifin_price_fallback"] = row.get("price_fallback_calls", 0)
        res["aifin_warning"] = row.get("warning_calls", 0)
        res["aifin_parse_mismatch"] = parse_mismatches(c, p)
        l = c.litellm_usd
        a = res["aifin_usd"]
        if l is None:
            res["outcome"] = "agree_unpriced" if a is None else "diff_litellm_error"
        elif l == 0.0:
            if a is None:
                res["outcome"] = "litellm_zero_aifin_unpriced"
            elif close(a, 0.0):
                res["outcome"] = "agree"
            else:
                res["outcome"] = "diff_litellm_zero"
        elif a is None:
            res["outcome"] = "diff_aifin_unpriced"
        elif close(a, l):
            res["outcome"] = "agree"
        else:
            res["outcome"] = "diff_aifin_higher" if a > l else "diff_aifin_lower"
            res["ratio"] = a / l
        # the likeliest cause, for grouping: what aifin read, which entry each side priced, else the rule
        if res["aifin_parse_mismatch"]:
            res["cause"] = "aifin read the line differently"
        elif a is None and l is not None:
            res["cause"] = "aifin resolved no catalog entry"
        elif res["aifin_price_key"] is not None and res["aifin_price_key"] == c.litellm_key:
            res["cause"] = "pricing rule"  # both sides priced the same entry
        elif not same_entry(c, catalog, res["aifin_price_key"]):
            res["cause"] = "aifin priced another catalog entry"
        elif c.litellm_key not in (None, c.key) and not same_entry(c, catalog, c.litellm_key):
            res["cause"] = "LiteLLM priced another catalog entry"
        else:
            res["cause"] = "pricing rule"
        results.append(res)
    return {"results": results}


def ratio_label(r: float) -> str:
    return f"{r:.4g}"


def tok_str(t: dict) -> str:
    parts = [f"U={t['uncached_input']}", f"CR={t['cache_read']}", f"W5={t['cache_write_5m']}", f"W1={t['cache_write_1h']}", f"O={t['output']}", f"R={t['reasoning']}"]
    for k in ("batch", "service_tier", "inference_geo", "speed", "vertex_location"):
        if k in t:
            parts.append(f"{k}={t[k]}")
    return " ".join(parts)


def pick_examples(rs: list[dict], n: int = 5) -> list[dict]:
    """Up to n examples, spread over providers and formats."""
    picked, seen = [], set()
    for r in rs:
        sig = (r["provider"], r["format"])
        if sig not in seen:
            seen.add(sig)
            picked.append(r)
        if len(picked) == n:
            return picked
    for r in rs:
        if r not in picked:
            picked.append(r)
        if len(picked) == n:
            break
    return picked


def write_report(out: Path, cases: list[Case], cmp: dict, skipped: list, ingest_summary: dict, rejects: list, elapsed: dict) -> dict:
    results = cmp["results"]
    by_outcome = collections.Counter(r["outcome"] for r in results)
    diffs = [r for r in results if r["outcome"].startswith("diff_")]
    missing = [r for r in results if r["outcome"] == "missing"]
    zero = [r for r in results if r["outcome"] == "litellm_zero_aifin_unpriced"]
    agree_n = by_outcome["agree"] + by_outcome["agree_unpriced"]

    def bucket(o: str) -> str:
        return "agree" if o in ("agree", "agree_unpriced") else ("diff" if o.startswith("diff_") else o)

    def table(dim: str, subset: list[dict] | None = None) -> list[str]:
        cnt: dict = collections.defaultdict(collections.Counter)
        for r in subset if subset is not None else results:
            cnt[r[dim]][bucket(r["outcome"])] += 1
            cnt[r[dim]]["total"] += 1
        lines = [
            f"| {dim} | cases | agree | diff | litellm $0 / aifin unpriced | missing |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for k in sorted(cnt, key=str):
            c = cnt[k]
            lines.append(
                f"| {k} | {c['total']} | {c['agree']} | {c['diff']} | {c['litellm_zero_aifin_unpriced']} | {c['missing']} |"
            )
        return lines

    population = collections.Counter((r["kind"], r["name_form"], r["format"]) for r in results)
    cats: dict = collections.defaultdict(list)
    for r in diffs:
        cats[(r["cause"], r["kind"], r["outcome"], r["name_form"])].append(r)

    md = []
    md.append("# aifin vs LiteLLM per-call cost\n")
    md.append(f"LiteLLM {litellm_version()} `cost_per_token` vs aifin `ledger --by workflow` (one call per workflow).  ")
    md.append("A difference: both priced and |aifin − litellm| > max(1e-9·|litellm|, $1e-9), or exactly one side priced.  ")
    md.append("`provider_relative` cases name the model as LiteLLM is called (catalog key without its `<provider>/` prefix, "
              "with the provider beside it); `full_key` cases repeat those with the full catalog key as the model name, "
              "to separate name resolution from pricing.  ")
    md.append(f"Call times: {TS_DEFAULT} (aifin JSONL, OpenAI, Anthropic) and {epoch_to_iso(EPOCH_DEFAULT)} (LiteLLM, OTel), both "
              f"inside the catalog's `off_peak_pricing` windows; `peak_hours` cases are at {TS_PEAK}, `off_peak_hours` at {TS_OFF_PEAK}. "
              "LiteLLM is priced at each line's own time (pinned billing time).\n")
    md.append("## Totals\n")
    md.append(f"* cases: **{len(results)}** (catalog entries skipped as LiteLLM cannot price tokens for them: {len(skipped)})")
    for nf in ("provider_relative", "full_key"):
        sub = [r for r in results if r["name_form"] == nf]
        if sub:
            oc = collections.Counter(bucket(r["outcome"]) for r in sub)
            md.append(f"  * {nf}: {len(sub)} cases, {oc['agree']} agree, {oc['diff']} differ, {oc['litellm_zero_aifin_unpriced']} LiteLLM $0 / aifin unpriced, {oc['missing']} missing")
    md.append(f"* agreements: **{agree_n}** ({by_outcome['agree']} both priced and equal, {by_outcome['agree_unpriced']} aifin unpriced + LiteLLM error)")
    md.append(f"* differences: **{len(diffs)}**")
    for o in ("diff_aifin_higher", "diff_aifin_lower", "diff_aifin_unpriced", "diff_litellm_error", "diff_litellm_zero"):
        md.append(f"  * {o}: {by_outcome[o]}")
    md.append(f"* LiteLLM priced at $0 with tokens, aifin unpriced (counted apart): **{len(zero)}**")
    md.append(f"* missing from the ledger (rejected or not stored): **{len(missing)}**")
    md.append(f"* LiteLLM errors: {sum(1 for c in cases if c.litellm_error)}")
    md.append(
        f"* aifin ingest: lines={ingest_summary.get('lines')} calls={ingest_summary.get('calls')} stored={ingest_summary.get('stored')} "
        f"rejected={ingest_summary.get('rejected')} skipped={ingest_summary.get('skipped')} unpriced={ingest_summary.get('unpriced')}"
    )
    md.append(f"* time: generate + LiteLLM {elapsed.get('litellm', 0):.1f}s, aifin {elapsed.get('aifin', 0):.1f}s\n")
    md.append("## Differences by likely cause\n")
    md.append("| cause | provider_relative | full_key |")
    md.append("|---|---:|---:|")
    cc = collections.Counter((r["cause"], r["name_form"]) for r in diffs)
    for cause in sorted({r["cause"] for r in diffs}):
        md.append(f"| {cause} | {cc[(cause, 'provider_relative')]} | {cc[(cause, 'full_key')]} |")
    md.append("\n## Agreement per format\n")
    md += table("format")
    md.append("\n## Agreement per format, full_key cases only\n")
    md += table("format", [r for r in results if r["name_form"] == "full_key"])
    md.append("\n## Agreement per kind\n")
    md += table("kind")
    md.append("\n## Agreement per kind, full_key cases only\n")
    md += table("kind", [r for r in results if r["name_form"] == "full_key"])
    md.append("\n## Differences by provider (provider_relative | full_key)\n")
    pc = collections.Counter((r["provider"], r["name_form"]) for r in diffs)
    pt = collections.Counter((r["provider"], r["name_form"]) for r in results)
    md.append("| provider | diff/cases provider_relative | diff/cases full_key |")
    md.append("|---|---:|---:|")
    for prov in sorted({r["provider"] for r in diffs}, key=lambda p: -(pc[(p, "provider_relative")] + pc[(p, "full_key")])):
        md.append(f"| {prov} | {pc[(prov, 'provider_relative')]}/{pt[(prov, 'provider_relative')]} | {pc[(prov, 'full_key')]}/{pt[(prov, 'full_key')]} |")
    md.append("\n## Difference categories (cause × kind × outcome × name form)\n")
    md.append("Each category: the providers, the ratio aifin/litellm when both priced (value×count), the share of that kind's cases "
              "that differ per format, and up to 5 examples.\n")
    for (cause, kind, outcome, nf), rs in sorted(cats.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[0])):
        md.append(f"### {cause} · {kind} · {outcome} · {nf} — {len(rs)} case(s)\n")
        provs = collections.Counter(r["provider"] for r in rs)
        md.append("* providers: " + ", ".join(f"{p} {n}" for p, n in provs.most_common(15)) + (" …" if len(provs) > 15 else ""))
        ratios = collections.Counter(ratio_label(r["ratio"]) for r in rs if "ratio" in r)
        if ratios:
            top = ", ".join(f"{k}×{n}" for k, n in ratios.most_common(8))
            more = f" (+{len(ratios) - 8} other ratios)" if len(ratios) > 8 else ""
            md.append(f"* ratio aifin/litellm: {top}{more}")
        fmt_counts = collections.Counter(r["format"] for r in rs)
        md.append("* per format (differing / cases of this kind): " + ", ".join(
            f"{f} {fmt_counts.get(f, 0)}/{population[(kind, nf, f)]}" for f in FORMATS if population[(kind, nf, f)]
        ))
        mism = collections.Counter(m.split(":")[0] for r in rs for m in r.get("aifin_parse_mismatch") or [])
        if mism:
            md.append("* aifin read differently: " + ", ".join(f"{k} ×{n}" for k, n in mism.most_common()))
        errs = collections.Counter(r["litellm_error"] for r in rs if r["litellm_error"])
        if errs:
            md.append("* LiteLLM errors: " + ", ".join(f"{e} ×{n}" for e, n in errs.items()))
        md.append("")
        md.append("| case | key | model | provider | format | tokens | aifin USD | LiteLLM USD | aifin key | LiteLLM key |")
        md.append("|---|---|---|---|---|---|---:|---:|---|---|")
        for r in pick_examples(rs):
            lit = usd(r["litellm_usd"]) if r["litellm_error"] is None else r["litellm_error"]
            extra = ("<br>" + "; ".join(r["aifin_parse_mismatch"])) if r.get("aifin_parse_mismatch") else ""
            md.append(
                f"| {r['case']} | `{r['key']}` | `{r['model']}` | {r['provider']} | {r['format']} | {tok_str(r['tokens'])}{extra} | "
                f"{usd(r['aifin_usd'])} | {lit} | `{r['aifin_price_key']}` | `{r['litellm_key']}` |"
            )
        md.append("")
    if zero:
        md.append("## LiteLLM priced at $0, aifin unpriced\n")
        zk = collections.Counter(r["provider"] for r in zero)
        md.append(", ".join(f"{p}: {n}" for p, n in zk.most_common()))
        md.append("")
        for r in zero[:15]:
            md.append(f"* {r['case']} `{r['key']}` model `{r['model']}` {r['format']} {r['kind']} {r['name_form']}")
        md.append("")
    if missing:
        md.append("## Missing from the ledger\n")
        for r in missing[:50]:
            md.append(f"* {r['case']} `{r['key']}` {r['format']} {r['kind']}: {r.get('detail')}")
        md.append("")
    if rejects:
        md.append(f"## aifin rejects ({len(rejects)})\n")
        for r in rejects[:20]:
            md.append(f"* {json.dumps(r)[:300]}")
        md.append("")
    md.append("## Skipped catalog entries\n")
    sk = collections.Counter(s["reason"] for s in skipped)
    for reason, n in sk.most_common():
        md.append(f"* {n}: {reason}")
    md.append("")
    (out / "report.md").write_text("\n".join(md) + "\n")
    summary = {
        "litellm_version": litellm_version(),
        "cases": len(results),
        "agreements": agree_n,
        "differences": len(diffs),
        "outcomes": dict(by_outcome),
        "differences_by_cause": dict(collections.Counter(r["cause"] for r in diffs)),
        "missing": len(missing),
        "litellm_zero_aifin_unpriced": len(zero),
    }
    report = {
        "summary": summary,
        "differences": diffs,
        "litellm_zero_aifin_unpriced": zero,
        "missing": missing,
        "rejects": rejects,
        "skipped_entries": skipped,
        "ingest": ingest_summary,
        "all_results": results,
    }
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    return summary


# --------------------------------------------------------------------------- fixtures


def write_fixtures(fixture_dir: Path, cases: list[Case], results: list[dict], n: int) -> int:
    by_id = {r["case"]: r for r in results}
    def both_priced(c: Case) -> bool:
        r = by_id.get(c.cid)
        return c.litellm_usd is not None and r is not None and r.get("aifin_usd") is not None

    def order(c: Case):
        return (0 if both_priced(c) else 1, hashlib.sha256(c.cid.encode()).hexdigest())

    groups: dict = collections.defaultdict(list)
    for c in cases:
        if by_id.get(c.cid, {}).get("outcome") == "missing":
            continue
        groups[(c.kind, c.fmt)].append(c)
    for g in groups.values():
        g.sort(key=order)
    chosen: dict = {}
    cursor = collections.Counter()

    def take(group) -> bool:
        g = groups[group]
        while cursor[group] < len(g):
            c = g[cursor[group]]
            cursor[group] += 1
            if c.cid not in chosen:
                chosen[c.cid] = c
                return True
        return False

    kinds = sorted({k for k, _ in groups})
    fmts = [f for f in FORMATS if any(f == ff for _, ff in groups)]
    # 1. every kind, spreading formats
    for i, kind in enumerate(kinds):
        if len(chosen) >= n:
            break
        options = sorted((g for g in groups if g[0] == kind), key=lambda g: (FORMATS.index(g[1]) - i) % len(FORMATS))
        for g in options:
            if take(g):
                break
    # 2. every format
    for f in fmts:
        if len(chosen) >= n:
            break
        if any(c.fmt == f for c in chosen.values()):
            continue
        for g in sorted(g for g in groups if g[1] == f):
            if take(g):
                break
    # 3. round-robin over (kind, format) groups
    order_groups = sorted(groups)
    progress = True
    while len(chosen) < n and progress:
        progress = False
        for g in order_groups:
            if len(chosen) >= n:
                break
            if take(g):
                progress = True
    sample = sorted(chosen.values(), key=lambda c: c.cid)
    fixture_dir.mkdir(parents=True, exist_ok=True)
    with open(fixture_dir / "litellm-cases.jsonl", "w") as f:
        for c in sample:
            f.write(c.line + "\n")
    expected = {
        "litellm_version": litellm_version(),
        "cases": {
            c.cid: {
                "usd": c.litellm_usd,
                "nanousd": None if c.litellm_usd is None else round(c.litellm_usd * 1e9),
                "key": c.key,
                "kind": c.kind,
                "format": c.fmt,
            }
            for c in sample
        },
    }
    (fixture_dir / "litellm-expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    return len(sample)


# --------------------------------------------------------------------------- main


def litellm_version() -> str:
    try:
        from importlib.metadata import version

        return version("litellm")
    except Exception:  # noqa: BLE001
        return getattr(litellm, "__version__", "unknown")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aifin", required=True, help="the aifin binary")
    ap.add_argument("--out", required=True, type=Path, help="output directory (cases, expectations, ledger, report)")
    ap.add_argument("--sample", type=int, default=500, help="cases in the fixture sample (with --fixture-dir)")
    ap.add_argument("--fixture-dir", type=Path, help="write a stratified sample of cases and LiteLLM's answers here")
    ap.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, help="the price catalog (default: assets/...)")
    args = ap.parse_args()

    version = litellm_version()
    if version != EXPECTED_LITELLM_VERSION:
        sys.stderr.write(f"warning: litellm {version} installed, the harness targets {EXPECTED_LITELLM_VERSION}\n")
    if os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP") != "True":
        sys.stderr.write("warning: LITELLM_LOCAL_MODEL_COST_MAP is not True\n")
    catalog = json.loads(args.catalog.read_text())
    mismatched = [
        k
        for k, v in catalog.items()
        if k != "sample_spec" and isinstance(v, dict) and "litellm_provider" in v and litellm.model_cost.get(k) is None
    ]
    if mismatched:
        sys.stderr.write(f"warning: {len(mismatched)} catalog keys are not in LiteLLM's model_cost (e.g. {mismatched[:3]})\n")

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    cases, skipped = generate_cases(catalog)
    assign_formats(cases)
    for c in cases:
        price_with_litellm(c)
        c.line = json.dumps(line_for(c), separators=(",", ":"))
    with open(out / "cases.jsonl", "w") as f:
        for c in cases:
            f.write(c.line + "\n")
    expected = {
        c.cid: {**case_fields(c), "litellm_error_message": c.litellm_error_message, "ts": c.ts}
        for c in cases
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    t1 = time.time()
    print(f"{len(cases)} cases ({len(skipped)} entries skipped), LiteLLM priced in {t1 - t0:.1f}s", flush=True)

    rows, rejects, ingest_summary, prices, parsed = run_aifin(args.aifin, out)
    t2 = time.time()
    cmp = compare(cases, rows, rejects, prices, parsed, catalog)
    summary = write_report(out, cases, cmp, skipped, ingest_summary, rejects, {"litellm": t1 - t0, "aifin": t2 - t1})
    print(json.dumps(summary, indent=1))
    print(f"report: {out / 'report.md'}")
    if args.fixture_dir is not None:
        n = write_fixtures(args.fixture_dir, cases, cmp["results"], args.sample)
        print(f"fixtures: {n} cases in {args.fixture_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
