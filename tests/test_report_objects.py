"""An ACE's ``objects`` in the report are its expanded rules, as describe() shows each."""
import glob
import json
import os
import random
import sys

from ruleset_analysis.preprocess import read_config
from ruleset_analysis.records import seen
from ruleset_analysis.report.build import _objects, describe
from ruleset_analysis.report.model import RuleUse, plain

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import benchmark  # noqa: E402


def _reference(ace, per_rule):
    return [RuleUse(**describe(rule), hits=per_rule.get(rule.index, (0, None, None))[0],
                    first_seen=seen(per_rule.get(rule.index, (0, None, None))[1]),
                    last_seen=seen(per_rule.get(rule.index, (0, None, None))[2]),
                    members=rule.members)
            for rule in ace.rules]


def test_every_ace_s_objects_are_its_rules_as_describe_shows_them(tmp_path):
    paths = glob.glob(os.path.join(HERE, "..", "sample_configs", "*.cfg")) + \
        glob.glob(os.path.join(HERE, "configs", "*.cfg"))
    generated = tmp_path / "bench.cfg"
    generated.write_text(benchmark.make_config(benchmark.aces_for(3_000)))
    rng = random.Random(3)
    aces = 0
    for path in paths + [str(generated)]:
        for ace in read_config(path).aces():
            count = ace.rule_count
            per_rule = {ace.first_index + n: (rng.randrange(1, 9), "2014-06-01 00:00:00",
                                              rng.choice(["2014-06-02 00:00:00", "~"]))
                        for n in range(count) if rng.random() < 0.3}
            made, expected = _objects(ace, per_rule), _reference(ace, per_rule)
            # as the report writes them: the members' order too
            assert json.dumps(plain(made)) == json.dumps(plain(expected)), (path, ace.line)
            assert made == expected
            aces += 1
    assert aces > 100
