"""`diff` reads a JSON report an ACE at a time: what it keeps is what json.load reads of it."""
import io
import json
import random

import pytest

from ruleset_analysis.report import diff
from ruleset_analysis.report.diff import FIELDS, WINDOW


def _rule(rng):
    rule = {name: rng.choice([None, 0, 7, 123456789, -4.5e10, "fw01", "ace \u00e9 \"q\"",
                              "2014-06-01 00:00:00"])
            for name in FIELDS if rng.random() < 0.8}
    rule["objects"] = [{"index": n, "members": {"source": ["g", "h"]}} for n in range(3)]
    rule["daily"] = {"2014-06-01": rng.randrange(9)}
    return rule


def _written(rng, report):
    return json.dumps(report, indent=rng.choice([None, 0, 2, "\t"]),
                      separators=rng.choice([None, (",", ":"), (" , ", " : ")]),
                      ensure_ascii=rng.random() < 0.5)


def _slim(text, window=None):
    """The report in ``text`` as diff reads it from a file, through a window of ``window``
    characters (a value read across many)."""
    if window is not None:
        diff.WINDOW = window
    try:
        return diff._slim(diff._Values(io.StringIO(text)))
    finally:
        diff.WINDOW = WINDOW


def _expected(report):
    return {key: [{n: r[n] for n in FIELDS if n in r} for r in value] if key == "rules"
            else value for key, value in report.items()}


def test_any_spacing_of_a_report_reads_as_json_reads_it_cut_to_the_fields():
    rng = random.Random(9)
    for _ in range(500):
        report = {"counters": {"lines": 3}, "rules": [_rule(rng) for _ in range(rng.randrange(4))],
                  "window": {"first": None, "last": "b"}, "groups": [[1, {"a": []}]],
                  "results_format": 123456789, "ratio": -2.5e-7}
        keys = list(report)
        rng.shuffle(keys)
        report = {key: report[key] for key in keys}
        text = " \n" * rng.randrange(2) + _written(rng, report) + "\n" * rng.randrange(2)
        assert _slim(text, rng.choice([1, 2, 3, 7, 64, None])) == _expected(json.loads(text))


def test_a_broken_report_is_an_error_where_json_finds_one():
    rng = random.Random(4)
    report = {"window": {"first": "a", "last": "b"}, "rules": [_rule(rng) for _ in range(3)]}
    text = json.dumps(report, indent=2)
    for cut in range(0, len(text), 7):
        broken = text[:cut]
        with pytest.raises(ValueError):
            json.loads(broken)
        with pytest.raises(ValueError):
            _slim(broken, 5)
    for bad in ('{"rules": [1]}', '{"rules": []} x', '{1: 2, "rules": []}', "[1, 2]",
                '{"rules": {}}', '{"rules": [] "window": 1}', '{"rules": [{} {}]}'):
        with pytest.raises(ValueError):
            _slim(bad)
