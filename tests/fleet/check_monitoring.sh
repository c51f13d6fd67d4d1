#!/bin/bash
# monitoring/: the alert rules load (promtool check rules) and fire as written (promtool test
# rules), the Grafana dashboard is valid JSON with a query on every panel, and every pisigner_*
# metric either names is one the daemon exports. usage: check_monitoring.sh SOURCE_DIR
set -euo pipefail
src=$1
cd "$src/monitoring/prometheus"
promtool check rules pisigner-alerts.yml
promtool test rules pisigner-alerts.test.yml
python3 - "$src" <<'PY'
import json, pathlib, re, sys
src = pathlib.Path(sys.argv[1])
dash = json.loads((src / "monitoring/grafana/pisigner-fleet.json").read_text())
assert dash["uid"] and dash["panels"], "dashboard without uid or panels"
for p in dash["panels"]:
    assert p.get("targets") and all(t.get("expr") for t in p["targets"]), f"panel {p.get('title')} has no query"
exported = set()
for f in list((src / "signer").rglob("*.cpp")) + list((src / "hal").rglob("*.cpp")):
    exported |= set(re.findall(r'"(pisigner_[a-z0-9_]+)"', f.read_text()))
used = set(re.findall(r"pisigner_[a-z0-9_]+", json.dumps(dash)))
used |= set(re.findall(r"pisigner_[a-z0-9_]+", (src / "monitoring/prometheus/pisigner-alerts.yml").read_text()))
used = {re.sub(r"_(bucket|sum|count)$", "", m) for m in used if m != "pisigner_fleet"}
unknown = sorted(used - exported)
assert not unknown, f"metrics the daemon does not export: {unknown}"
print(f"dashboard: {len(dash['panels'])} panels; {len(used)} pisigner metrics used, all exported")
PY
