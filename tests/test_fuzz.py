"""Property-based fuzzing: random and mutated real input never raises anything but the
documented errors, and every line ends in exactly one counter."""
import os

import pytest
from conftest import ROOT, SAMPLE_CONFIGS, SAMPLE_LOGS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.asa.config import ConfigError, parse_config
from ruleset_analysis.asa.syslog import LogParser
from ruleset_analysis.expand import expand_config
from ruleset_analysis.records import merge_ace
from ruleset_analysis.report import ResultsError, read_results

FUZZ = settings(max_examples=400, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CONFIG_LINES = open(os.path.join(ROOT, "tests", "configs", "every-form.cfg")).read() \
    .splitlines() + open(SAMPLE_CONFIGS[1]).read().splitlines()
LOG_LINES = [line.rstrip("\n") for path in SAMPLE_LOGS for line in open(path)][:3000]
FIREWALLS = {}


def firewalls():
    if not FIREWALLS:
        from ruleset_analysis.preprocess import read_config
        FIREWALLS.update((fw.name, fw) for fw in map(read_config, SAMPLE_CONFIGS))
    return FIREWALLS


@st.composite
def mutated(draw, lines):
    """A real line with a random edit: cut, doubled token, replaced or inserted characters."""
    line = draw(st.sampled_from(lines))
    edit = draw(st.integers(0, 4))
    if not line:
        return line
    at = draw(st.integers(0, len(line)))
    if edit == 0:
        return line[:at]
    if edit == 1:
        tokens = line.split(" ")
        i = draw(st.integers(0, len(tokens) - 1))
        return " ".join(tokens[:i + 1] + tokens[i:])
    if edit == 2:
        return line[:at] + draw(st.text(max_size=8)) + line[at + 1:]
    if edit == 3:
        tokens = line.split(" ")
        i = draw(st.integers(0, len(tokens) - 1))
        return " ".join(tokens[:i] + tokens[i + 1:])
    return line[:at] + draw(st.sampled_from(["/", ":", "(", ")", " ", "%", "\x00", "\t"])) + \
        line[at:]


@FUZZ
@given(st.lists(st.one_of(mutated(CONFIG_LINES), st.sampled_from(CONFIG_LINES),
                          st.text(max_size=40)), max_size=80))
def test_config_parser_raises_only_config_errors_and_keeps_every_ace(lines):
    text = "hostname fuzz\n" + "\n".join(lines) + "\n"
    try:
        firewall = expand_config(parse_config(text, "fuzz.cfg"))
    except ConfigError:
        return
    def is_ace(line):
        words = line.split()
        return (line[:1] not in (" ", "\t") and len(words) >= 3 and words[0] == "access-list"
                and words[1] not in ("alert-interval", "deny-flow-max") and words[2] != "remark"
                and not (len(words) >= 5 and words[2] == "line" and words[4] == "remark"))
    # lines as the device writes them: only a newline ends one (not U+0085, U+2028, ...)
    written = sum(1 for line in text.split("\n") if is_ace(line.rstrip()))
    assert sum(len(acl.entries) for acl in firewall.acls.values()) == written


@FUZZ
@given(st.lists(st.one_of(mutated(LOG_LINES), st.sampled_from(LOG_LINES),
                          st.text(max_size=200)), max_size=60))
def test_every_log_line_ends_in_exactly_one_counter(lines):
    analyzer = LineAnalyzer(firewalls(), "2014")
    for line in lines:
        LogParser("2014").parse(line)
        analyzer.add(line)
    counts = analyzer.counts()          # "lines" is the sum of the categories
    assert counts["lines"] == len(lines)


@FUZZ
@given(st.lists(st.one_of(mutated(LOG_LINES), st.sampled_from(LOG_LINES)), max_size=80),
       st.sampled_from(["built", "acl-log"]))
def test_hits_equal_the_connections_attributed(lines, permits_from):
    checker = LineAnalyzer(firewalls(), "2014", permits_from=permits_from)
    attributed = 0
    for line in lines:
        _, connection, _, verdict = checker.classify(line)
        if verdict is not None:
            attributed += connection.flows * len(checker.credited(connection, verdict))
    analyzer = LineAnalyzer(firewalls(), "2014", permits_from=permits_from)
    for line in lines:
        analyzer.add(line)
    records = [v for k, v in analyzer.emit() if k[0] == "ace"]
    assert sum(r["hits"] for r in records) == attributed
    merged = [merge_ace([r]) for r in records]
    assert all(sum(rule[1] for rule in r["rules"]) == r["hits"] ==
               sum(c[4] for c in r["connections"]) ==
               sum(r["days"].values()) + r.get("untimed", 0) for r in merged)


def test_a_results_line_nested_thousands_deep_is_a_results_error(tmp_path):
    path = tmp_path / "results"
    path.write_text('["ace", "fw01", "x", 1]\t' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ResultsError, match=":1: not a results line"):
        read_results([str(path)])


@FUZZ
@given(data=st.binary(max_size=400))
def test_results_reader_raises_only_results_errors(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "results"
    path.write_bytes(data)
    try:
        read_results([str(path)])
    except ResultsError:
        pass
