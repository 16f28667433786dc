"""The JSON report written a piece at a time is the text json.dumps(indent=2) writes whole."""
import json
import random

from ruleset_analysis.report import json_report


class _Plain:
    def __init__(self, plain):
        self.plain = plain

    def json_fields(self):
        return self.plain


def _value(rng, depth):
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return rng.choice(["", "a\nb", 'quote " and \\ back', "Zugang für \U0001f512",
                           "tab\there", "\u2028", "plain"])
    if kind == 1:
        return rng.choice([0, -1, 7, 1 << 63, 1 << 70, -(1 << 65)])
    if kind == 2:       # (no float: a report holds none, and orjson writes some otherwise)
        return rng.choice(["2014-06-01 00:00:00", "0.5"])
    if kind == 3:
        return rng.choice([True, False])
    if kind == 4:
        return None
    if kind in (5, 6):
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["hits", "rules", "ä", "x y", "members"]) + str(n): _value(rng, depth + 1)
            for n in range(rng.randrange(4))}


def test_every_report_shape_is_written_in_pieces_as_json_writes_it_whole():
    rng = random.Random(5)
    for _ in range(2000):
        plain = {f"field{n}": _value(rng, 1) for n in range(rng.randrange(1, 6))}
        assert json_report.render(_Plain(plain)) == json.dumps(plain, indent=2) + "\n"


def test_a_json_report_holds_no_float(tmp_path):
    # counts are integers and times strings: orjson writes floats otherwise than json does
    # (1e-05 as 0.00001; 1e300 as 1e300 before 3.12, Python 3.9's), so the pieces would not
    # be what json.dumps writes
    from conftest import SAMPLE_CONFIGS, SAMPLE_LOGS, cli_runner

    from ruleset_analysis.cli import main
    out = tmp_path / "report.json"
    assert cli_runner().invoke(main, ["analyze", "-c", SAMPLE_CONFIGS[0], "-c", SAMPLE_CONFIGS[1],
                                      "--year", "2014", "--format", "json", "-o", str(out),
                                      *SAMPLE_LOGS]).exit_code == 0
    floats = []
    json.loads(out.read_text(), parse_float=floats.append)
    assert floats == []


def test_a_json_report_is_made_an_item_of_a_list_at_a_time():
    rules = [{"line": n, "objects": [{"index": 0, "hits": n}]} for n in range(50)]
    pieces = list(json_report.pieces(_Plain({"counters": {"lines": 3}, "rules": rules})))
    assert len(pieces) >= len(rules)
    assert max(map(len, pieces)) < len(json.dumps(rules, indent=2)) / 10
