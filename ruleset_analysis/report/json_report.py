"""JSON report: the stable contract other tools parse (new fields are only ever added)."""
from __future__ import annotations

import json


def render(report: dict) -> str:
    return json.dumps(report, indent=1, sort_keys=False) + "\n"
