"""JSON report: the stable contract other tools parse (new fields are only ever added)."""
from __future__ import annotations

import json


def render(report) -> str:
    return json.dumps(report.to_json(), indent=1, sort_keys=False) + "\n"
