"""Memory stays bounded on a many-rules, many-connections input: the mapper bounds each ACE's
connection list, flushes its facts and drops its flow caches at their bounds."""
import json
import subprocess
import sys

from conftest import ROOT

SCRIPT = r'''
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.asa.config import parse_config
from ruleset_analysis.expand import expand_config

rules = "".join(f"access-list inside_in extended permit tcp host 10.200.{i // 250}.{i % 250 + 1}"
                f" any eq {1000 + i % 100}\n" for i in range(20000))
config = ("hostname fw01\ninterface Gi0/0\n nameif inside\n security-level 100\n" + rules +
          "access-list inside_in extended permit ip 10.0.0.0 255.0.0.0 any\n"
          "access-group inside_in in interface inside\n")
firewall = expand_config(parse_config(config, "many.cfg"))
limit = int(sys.argv[2])
# the largest lists a user may ask for: the flushes, not the lists' bound, keep memory bounded
analyzer = LineAnalyzer({"fw01": firewall}, "2014", facts_limit=limit, flows_limit=limit,
                        max_connections=10_000)


def rss_mb():              # the current resident set, not the high-water mark
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


before = peak = rss_mb()
emitted = hits = 0
for i in range(300000):       # every line a new flow and a new connection
    src = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
    dst = f"198.{i & 255}.{i >> 8 & 255}.{i >> 16 & 255}"
    analyzer.add(f"Jun 06 2014 14:{i // 60000 % 60:02d}:{i // 1000 % 60:02d} fw01 : "
                 f"%ASA-6-302013: Built outbound TCP connection {i} for outside:{dst}/443 "
                 f"({dst}/443) to inside:{src}/{40000 + i % 20000} (203.0.113.2/5000)")
    if analyzer.full:
        for key, value in analyzer.emit():             # the mapper writes these out
            emitted += 1
            hits += value["hits"] if key[0] == "ace" else 0
    if i % 10000 == 0:
        peak = max(peak, rss_mb())
for key, value in analyzer.emit():
    emitted += 1
    hits += value["hits"] if key[0] == "ace" else 0
print(json.dumps({"growth_mb": max(peak, rss_mb()) - before, "records": emitted,
                  "hits": hits}))
'''


def run(limit):
    out = subprocess.run([sys.executable, "-c", SCRIPT, ROOT, str(limit)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def test_memory_stays_bounded_when_every_line_is_a_new_connection():
    result = run(5000)
    assert result["growth_mb"] < 60, result
    assert result["records"] > 60            # it flushed many times
    assert result["hits"] == 300000           # every line credited, none lost
