#!/usr/bin/env bash
# Validates aifin's FOCUS export of the sample month with the FinOps
# Foundation's focus-validator (PyPI, 2.2.x, FOCUS 1.2 rules, offline):
# fails on any rule it reports as failed, except a branch of an OR rule
# that passed (the validator reports each branch of "null, or not null"
# nullability rules on its own; the rule itself is the OR).
#
#   scripts/check-focus.sh
#
# Needs Python 3.12 (pyenv) and a built aifin; installs the validator in
# target/focus-venv the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${AIFIN_BIN:-target/debug/aifin}
PY=${FOCUS_PYTHON:-$HOME/.pyenv/versions/3.12.1/bin/python}
VENV=target/focus-venv
if [ ! -x "$VENV/bin/focus-validator" ]; then
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q "focus-validator>=2.2,<2.3"
  # Its pyarrow needs numpy >= 2, whatever the validator pins.
  "$VENV/bin/pip" install -q --no-deps "numpy>=2"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export AIFIN_DB="$work/ledger.db" TZ=UTC NO_COLOR=1
"$BIN" --config sample-data/aifin.toml ingest sample-data/ > /dev/null
"$BIN" --config sample-data/aifin.toml export --format focus --since 2026-10-01 --until 2026-10-31 \
  --out "$work/focus.csv" 2> "$work/summary.txt"
cat "$work/summary.txt"
site=$("$VENV/bin/python" -c 'import focus_validator, os; print(os.path.dirname(os.path.dirname(focus_validator.__file__)))')
# It reads its rules relative to the working directory.
(cd "$site" && "$OLDPWD/$VENV/bin/focus-validator" --data-file "$work/focus.csv" --validate-version 1.2 \
  --block-download --output-type console) > "$work/report.txt" 2>&1 || true
"$VENV/bin/python" - "$work/report.txt" "$site/focus_validator/rules" <<'PY'
import glob, json, re, sys
report, rules_dir = sys.argv[1], sys.argv[2]
text = open(report, encoding="utf-8").read()
passed = set(re.findall(r"✅ (\S+): PASS", text))
failed = set(re.findall(r"❌ (\S+): FAIL", text))
model = json.load(open(sorted(glob.glob(rules_dir + "/model-1.2*.json"))[-1]))
# rule id -> the rules of its OR requirement
ors = {}
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if isinstance(v, dict) and isinstance(v.get("ValidationCriteria"), dict):
                req = v["ValidationCriteria"].get("Requirement", {})
                if req.get("CheckFunction") == "OR":
                    ors[k] = {i.get("ModelRuleId") for i in req.get("Items", []) if i.get("ModelRuleId")}
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(model)
excused = {f for f in failed if any(f in kids and parent in passed for parent, kids in ors.items())}
real = sorted(failed - excused)
print(f"focus-validator 2.2: {len(passed)} rules passed, {len(excused)} failed branches of a passing OR rule ({', '.join(sorted(excused)) or '-'}), {len(real)} failed")
for r in real:
    print("FAIL", r)
    for line in text.splitlines():
        if line.startswith(f"- {r}:"):
            print("   ", line)
sys.exit(1 if real or not passed else 0)
PY
