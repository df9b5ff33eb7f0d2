#!/usr/bin/env bash
# Refresh assets/model_prices_and_context_window.json from the litellm package on PyPI.
# Usage: scripts/refresh-prices.sh [VERSION]   (default: the version pinned below)
# Needs network access and python3 with pip; run it by hand, never at build or run time.
set -euo pipefail
version="${1:-1.110.2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download "litellm==${version}" --no-deps --only-binary=:all: -d "$tmp" -q
wheel="$(ls "$tmp"/litellm-*.whl | head -n1)"
python3 - "$wheel" "$root/assets" "$version" <<'PY'
import json, sys, zipfile
wheel, out, version = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(wheel) as z:
    data = json.loads(z.read("litellm/model_prices_and_context_window_backup.json"))
    lic = [n for n in z.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    licence = z.read(lic[0]).decode() if lic else ""
with open(f"{out}/model_prices_and_context_window.json", "w") as f:
    json.dump(data, f, separators=(",", ":"), ensure_ascii=False)
    f.write("\n")
with open(f"{out}/model_prices.VERSION", "w") as f:
    f.write(f"litellm {version}\n")
if licence:
    with open(f"{out}/LICENSE.litellm", "w") as f:
        f.write(licence)
print(f"wrote {len(data)} entries from litellm {version}")
PY
