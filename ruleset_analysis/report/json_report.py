"""JSON report: the stable contract other tools parse (new fields are only ever added)."""
from __future__ import annotations

import json
from typing import Any, Iterator

import orjson

from .model import dataclass_fields, plain

# Dataclasses go to dataclass_fields, as to_json() makes them plain: its fields in their
# order, whatever else an instance holds.
OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATACLASS


def render(report) -> str:
    """The report as ``json.dumps(report.to_json(), indent=2)`` writes it (and a newline)."""
    return "".join(pieces(report))


def pieces(report) -> Iterator[str]:
    """The report as render() writes it, a piece at a time: each field, and each item of a
    field that is a list (an ACE, a group), encoded alone. A 1.2M-rule report is 878 MB of
    text: encoded whole, it was held twice (orjson's bytes, then their str), 2.4 GB at its
    peak; a piece is an ACE's."""
    yield "{"
    for n, (name, value) in enumerate(report.json_fields().items()):
        head = ("\n  " if n == 0 else ",\n  ") + _encoded(name, 0) + ": "
        if value.__class__ is list and value:
            yield head + "["
            for i, item in enumerate(value):
                yield ("\n    " if i == 0 else ",\n    ") + _encoded(item, 2)
            yield "\n  ]"
        else:
            yield head + _encoded(value, 1)
    yield "\n}\n"


def _encoded(value: Any, depth: int) -> str:
    """A value as json.dumps(..., indent=2) writes it ``depth`` levels in, through orjson:
    json's indenting encoder is Python (a 120,000-rule report took 6.1 s, orjson 0.23 s), and
    orjson writes the report's dataclasses as to_json() makes them plain, without making them
    (a 10,000-rule report: 0.20 s, now 0.06 s). orjson writes text beyond ASCII as UTF-8:
    such a value (and anything orjson refuses) is left to json, which escapes it. Indented by
    its depth after each newline: a JSON string holds none unescaped."""
    try:
        data = orjson.dumps(value, default=dataclass_fields, option=OPTIONS)
        text = data.decode("ascii") if data.isascii() else None
    except orjson.JSONEncodeError:       # an int beyond 64 bits, ...
        text = None
    if text is None:
        text = json.dumps(plain(value), indent=2)
    return text.replace("\n", "\n" + "  " * depth) if depth else text
