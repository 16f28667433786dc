"""The product as users run it: analyze, run -r inline/local, the cat-pipe, report."""
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLE_CONFIGS, SAMPLE_LOGS, cli_runner

from ruleset_analysis.cli import main
from ruleset_analysis.database import load_firewalls
from ruleset_analysis.records import RESULTS_FORMAT


def cli(*args):
    result = cli_runner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory):
    """The JSON report of `analyze` on the samples, and the database it used."""
    tmp = tmp_path_factory.mktemp("analyze")
    db = tmp / "accesslists.db"
    args = ["analyze", "--db", db, "--format", "json", "-o", tmp / "report.json"]
    for config in SAMPLE_CONFIGS:
        args += ["-c", config]
    result = cli(*args, *SAMPLE_LOGS)
    assert result.exit_code == 0, result.output
    return json.loads((tmp / "report.json").read_text()), str(db)


def report_json(results, db):
    result = cli("report", results, "--db", db, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("runner", ["inline", "local"])
def test_run_gives_the_same_report_as_analyze(analyzed, tmp_path, runner):
    report, db = analyzed
    results = tmp_path / "results"
    result = cli("run", *SAMPLE_LOGS, "--db", db, "-r", runner, "-o", results)
    assert result.exit_code == 0, result.output
    assert report_json(results, db) == report


@pytest.mark.parametrize("workers", ["1", "3"])
def test_any_number_of_local_workers_gives_the_same_report_as_analyze(analyzed, tmp_path,
                                                                       workers):
    # fewer than the cores where memory is short
    report, db = analyzed
    results = tmp_path / "results"
    result = cli("run", *SAMPLE_LOGS, "--db", db, "--workers", workers, "-o", results)
    assert result.exit_code == 0, result.output
    assert report_json(results, db) == report


def test_workers_are_refused_with_a_runner_other_than_local(analyzed):
    result = cli_runner().invoke(main, ["run", "-r", "inline", "-j", "2", SAMPLE_LOGS[0],
                                       "--db", analyzed[1]])
    assert result.exit_code == 1
    assert "--workers is the local runner's (-r local), not -r inline's" in result.output


def test_cat_pipe_gives_the_same_report_as_analyze(analyzed, tmp_path):
    report, db = analyzed
    results = tmp_path / "results"
    python = sys.executable
    command = (f"cat {' '.join(SAMPLE_LOGS)} | {python} scripts/mapper.py --db {db} | "
               f"LC_ALL=C sort | {python} scripts/reducer.py > {results}")
    subprocess.run(command, shell=True, check=True, cwd=ROOT)
    assert report_json(results, db) == report


def test_report_lists_every_ace_of_every_acl_in_config_order(analyzed):
    report, _ = analyzed
    keys = [(r["firewall"], r["acl"], r["line"]) for r in report["rules"]]
    ace_lines = [text for path in SAMPLE_CONFIGS for text in open(path)
                 if text.startswith("access-list ") and " remark " not in text]
    assert len(keys) == len(ace_lines) and keys[0] == ("fw01", "outside_in", 3)
    in_config = []          # ACL names in the order the fw01 config first writes them
    for text in open(SAMPLE_CONFIGS[0]):
        if text.startswith("access-list ") and text.split()[1] not in in_config:
            in_config.append(text.split()[1])
    in_report = []
    for firewall, acl, _ in keys:
        if firewall == "fw01" and acl not in in_report:
            in_report.append(acl)
    assert in_report == in_config
    for acl in in_config:
        lines = [line for firewall, name, line in keys if (firewall, name) == ("fw01", acl)]
        assert lines == sorted(lines)


def test_counters_account_for_every_line_of_the_samples(analyzed):
    counters = analyzed[0]["counters"]
    total = sum(sum(1 for _ in open(path)) for path in SAMPLE_LOGS)
    assert counters["lines"] == total
    assert sum(v for k, v in counters.items() if k != "lines") == total


# The JSON contract: fields are only ever added. A change here is a change for every tool that
# reads the reports: add to these sets, never remove.
REPORT_KEYS = {"counters", "window", "unused_rule", "rules", "groups", "unknown_results",
               "input_errors", "firewalls", "disagreements", "unknown_devices",
               "results_format", "identity_conflicts", "captures", "rehashed", "removed"}
RULE_KEYS = {"firewall", "acl", "line", "text", "remarks", "action", "inactive", "hits",
             "untimed_hits", "first_seen", "last_seen", "objects", "connections", "daily",
             "connections_truncated", "omitted_connections", "omitted_hits", "kind",
             "bindings", "time_range", "log", "error", "visibility", "unseen_protocols",
             "judgement", "status", "reason", "unused", "disagreements", "tightening",
             "shadowed_by", "redundant_with", "shadowing_not_analysed", "connections_sampled",
             "event_log", "device", "hash_disagreements", "since", "removed_member_hits", "periods",
             "services", "services_sampled"}
OBJECT_KEYS = {"index", "protocol", "source", "source_port", "destination", "destination_port",
               "hits", "first_seen", "last_seen", "members", "device", "since"}
CONNECTION_KEYS = {"protocol", "source", "destination", "port", "count", "first_seen",
                   "last_seen"}
SERVICE_KEYS = {"protocol", "destination", "port", "hits", "first_seen", "last_seen"}
GROUP_KEYS = {"firewall", "group", "header", "members", "unused", "used_by", "not_evaluated"}
MEMBER_KEYS = {"member", "line", "hits", "first_seen", "last_seen", "unused"}
FIREWALL_KEYS = {"firewall", "status", "reason", "first", "last", "days", "days_with_logs",
                 "gaps", "untimed", "deny_days_with_logs", "lines", "notes", "protocols",
                 "horizon", "revisions", "before_first"}


def test_json_report_keeps_the_contract(analyzed):
    report = analyzed[0]
    assert set(report) == REPORT_KEYS
    assert all(set(rule) == RULE_KEYS for rule in report["rules"])
    rule = next(r for r in report["rules"] if r["hits"])
    assert sum(o["hits"] for o in rule["objects"]) == rule["hits"]
    assert set(rule["objects"][0]) == OBJECT_KEYS
    assert set(rule["connections"][0]) == CONNECTION_KEYS
    tightened = next(r for r in report["rules"] if r["tightening"])
    assert set(tightened["tightening"]) == {"lines", "widened", "complete", "connections"}
    assert set(report["groups"][0]) == GROUP_KEYS
    assert set(report["groups"][0]["members"][0]) == MEMBER_KEYS
    assert all(set(f) == FIREWALL_KEYS for f in report["firewalls"])
    assert set(report["window"]) == {"first", "last", "days"}
    assert set(report["unknown_devices"]) == {"lines", "ids", "top"}
    assert set(report["unknown_devices"]["top"][0]) == {"device", "lines"}


def test_json_report_keeps_the_contract_of_the_unused_rule_and_disagreements(analyzed,
                                                                             tmp_path):
    log = tmp_path / "fw01.log"         # a deny on https to a web server that line 3 permits
    log.write_text(open(SAMPLE_LOGS[0]).read() + "Jun 03 2014 03:11:02 fw01 : %ASA-3-106100: "
                   "access-list outside_in denied tcp outside/185.44.142.232(26189) -> "
                   "dmz/172.16.1.10(443) hit-cnt 1 first hit [0x5a1b2c3d, 0x0]\n")
    results = tmp_path / "results"
    assert cli("run", log, "--db", analyzed[1], "-o", results).exit_code == 0
    result = cli("report", results, "--db", analyzed[1], "--format", "json",
                 "--unused-since", "7")
    report = json.loads(result.stdout)
    assert set(report["unused_rule"]) == {"as_of", "days"}
    assert set(report["firewalls"][0]["horizon"]) == {"start", "as_of", "days", "covered",
                                                      "reason"}
    assert set(report["disagreements"][0]) == {
        "firewall", "acl", "line", "text", "action", "messages", "count", "first_seen",
        "last_seen", "connections", "services"}


def sample_report(analyzed, tmp_path):
    """The typed report of the sample logs, built from the job's results."""
    from ruleset_analysis.records import read_results
    from ruleset_analysis.report.build import Filters, make_report
    results = tmp_path / "results"
    assert cli("run", *SAMPLE_LOGS, "--db", analyzed[1], "-o", results).exit_code == 0
    return make_report(load_firewalls(analyzed[1]), read_results([str(results)]), 10,
                       Filters(), None)


def test_the_json_contract_is_the_report_as_dataclasses_asdict_gives_it(analyzed, tmp_path):
    from dataclasses import asdict

    report = sample_report(analyzed, tmp_path)
    expected = asdict(report)
    del expected["seconds"]
    assert json.dumps(report.to_json(), indent=1) == json.dumps(expected, indent=1)


def test_the_json_report_is_what_json_writes_with_an_indent_of_two(analyzed, tmp_path):
    from ruleset_analysis.report import json_report
    report = sample_report(analyzed, tmp_path)
    assert json_report.render(report) == json.dumps(report.to_json(), indent=2) + "\n"


def test_the_json_report_writes_a_dataclass_s_fields_only_as_to_json_does(analyzed, tmp_path):
    from ruleset_analysis.report import json_report
    report = sample_report(analyzed, tmp_path)
    object.__setattr__(report.rules[0], "cache", [1])      # held, not a field
    object.__setattr__(report.firewalls[0], "_private", 2)
    text = json_report.render(report)
    assert text == json.dumps(report.to_json(), indent=2) + "\n"
    assert '"cache"' not in text and '"_private"' not in text


def test_the_json_report_writes_a_dataclass_s_fields_in_their_order_however_they_were_set(
        analyzed, tmp_path):
    from ruleset_analysis.report import json_report
    report = sample_report(analyzed, tmp_path)
    entry = report.rules[0]
    hits = entry.hits
    del entry.hits          # set again: last in the instance's own dict, not in its fields
    entry.hits = hits
    assert list(vars(entry))[-1] == "hits"
    text = json_report.render(report)
    assert text == json.dumps(report.to_json(), indent=2) + "\n"
    assert text.index('"hits"') < text.index('"untimed_hits"')


class _Plain:
    def __init__(self, plain):
        self.plain = plain

    def to_json(self):
        return self.plain

    json_fields = to_json


def test_text_beyond_ascii_in_the_json_report_is_escaped_as_json_escapes_it():
    from ruleset_analysis.report import json_report
    plain = {"remarks": ["Zugang für Lieferanten \U0001f512"], "hits": 3}
    assert json_report.render(_Plain(plain)) == json.dumps(plain, indent=2) + "\n"


def test_a_json_report_orjson_cannot_write_is_written_by_json():
    from ruleset_analysis.report import json_report
    plain = {"hits": 1 << 70}
    assert json_report.render(_Plain(plain)) == json.dumps(plain, indent=2) + "\n"


def test_pre_8_3_firewall_credits_the_acl_written_with_the_mapped_address(analyzed):
    published = next(r for r in analyzed[0]["rules"]
                     if r["firewall"] == "fw02" and r["acl"] == "outside_in" and r["line"] == 2)
    assert published["hits"] > 0
    assert {c["destination"] for c in published["connections"]} == {"198.51.100.10"}


def test_max_connections_caps_the_list_but_not_the_hits(analyzed, tmp_path):
    report, db = analyzed
    results = tmp_path / "results"
    assert cli("run", *SAMPLE_LOGS, "--db", db, "--max-connections", 2,
               "-o", results).exit_code == 0
    capped = report_json(results, db)
    for full, cut in zip(report["rules"], capped["rules"]):
        assert cut["hits"] == full["hits"]
        assert len(cut["connections"]) <= min(2, len(full["connections"]))
        assert cut["connections_truncated"] == (len(full["connections"]) > 2)
        # what the list leaves out is in omitted_hits, and by service where it was kept
        assert cut["hits"] == sum(c["count"] for c in cut["connections"]) + cut["omitted_hits"]
        assert sum(s["hits"] for s in cut["services"]) <= cut["omitted_hits"]
    service = next(s for cut in capped["rules"] for s in cut["services"])
    assert set(service) == SERVICE_KEYS


def test_text_report_shows_the_ruleset_the_unused_and_the_traffic(analyzed, tmp_path):
    _, db = analyzed
    results = tmp_path / "results"
    cli("run", *SAMPLE_LOGS, "--db", db, "-o", results)
    text = cli("report", results, "--db", db).stdout
    assert "== Ruleset: every ACE with its hits ==" in text
    assert "fw01: access-list inside_in, line 7: access-list inside_in extended permit tcp " \
           "object obj-inside any eq ftp\n    no hit in the logs of 2014-06-01 .. 2014-06-14 " \
           "(14 days)\n    remark: legacy ftp, to be removed" in text
    assert "Total number of hits:" in text and "Per object:" in text


def test_preprocess_prints_a_summary(tmp_path):
    result = cli("preprocess", *SAMPLE_CONFIGS, "--db", tmp_path / "db")
    assert result.exit_code == 0
    assert "fw01" in result.output and "2 firewall(s) written" in result.output


@pytest.mark.parametrize("args, message", [
    (["preprocess", "/no/such.cfg"], "/no/such.cfg: cannot read config"),
    (["report", "/no/results", "--db", "/no/such.db"], "database not found"),
    (["run", "/no/log", "--db", "/no/such.db"], "database not found"),
])
def test_bad_input_is_one_line_and_a_non_zero_exit(args, message, tmp_path):
    result = cli_runner().invoke(main, args)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_log_is_a_clear_error(analyzed):
    result = cli_runner().invoke(main, ["run", "/no/such.log", "--db", analyzed[1]])
    assert result.exit_code == 1 and "/no/such.log: log file not found" in result.output


def test_unknown_firewall_override_is_a_clear_error(analyzed):
    result = cli_runner().invoke(main, ["run", SAMPLE_LOGS[0], "--db", analyzed[1],
                                       "--assume-firewall", "fw99"])
    assert result.exit_code == 1 and "fw99" in result.output


def test_results_file_that_is_not_results_names_file_and_line(analyzed, tmp_path):
    bogus = tmp_path / "results"
    bogus.write_text('["counter", "lines"]\t1\nnonsense\n')
    result = cli_runner().invoke(main, ["report", str(bogus), "--db", analyzed[1]])
    assert result.exit_code == 1 and f"{bogus}:2:" in result.output


def test_compressed_logs_are_read(analyzed, tmp_path):
    import gzip
    report, db = analyzed
    paths = []
    for path in SAMPLE_LOGS:
        target = tmp_path / (os.path.basename(path) + ".gz")
        with open(path, "rb") as src, gzip.open(target, "wb") as dst:
            dst.write(src.read())
        paths.append(target)
    results = tmp_path / "results"
    assert cli("run", *paths, "--db", db, "-o", results).exit_code == 0
    assert report_json(results, db) == report


def test_a_failing_job_step_is_one_clear_line(analyzed, tmp_path, monkeypatch):
    from mrjob.step import StepFailedException

    def fail(*args, **kwargs):
        raise StepFailedException(step_num=0, num_steps=1)
    monkeypatch.setattr("mrjob.runner.MRJobRunner.run", fail)
    result = cli_runner().invoke(main, ["run", "-r", "inline", SAMPLE_LOGS[0], "--db",
                                       analyzed[1]])
    assert result.exit_code == 1 and "the job failed" in result.output
    assert "Traceback" not in result.output


def test_analyze_leaves_in_its_temporary_directory_the_database_alone(tmp_path, monkeypatch):
    # its results are reported from memory (with --results, written there too): temp disk
    # stays the database's size, however many lines
    import shutil
    import tempfile
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(shutil, "rmtree", lambda *args, **kwargs: None)    # (left to look at)
    result = cli("analyze", *[a for c in SAMPLE_CONFIGS for a in ("-c", c)], *SAMPLE_LOGS,
                 "--format", "json", "-o", tmp_path / "report.json")
    assert result.exit_code == 0, result.output
    (workdir,) = scratch.iterdir()
    assert sorted(p.name for p in workdir.iterdir()) == ["accesslists.db", "accesslists.db.lock"]
    assert json.loads((tmp_path / "report.json").read_text())["rules"]


def test_analyze_on_this_machine_does_not_load_mrjob(tmp_path):
    # importing mrjob took 0.4 s, an eighth of analyze's fixed cost; only its runners need it
    script = ("import sys; from ruleset_analysis.cli import main\n"
              "try:\n    main(sys.argv[1:])\nexcept SystemExit as exit:\n"
              "    assert exit.code == 0, exit.code\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'mrjob'))")
    args = ["analyze", *[a for c in SAMPLE_CONFIGS for a in ("-c", c)], *SAMPLE_LOGS,
            "-o", str(tmp_path / "report.txt")]
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "report.txt").stat().st_size > 0


def test_results_for_aces_missing_from_the_database_are_reported_not_dropped(analyzed,
                                                                            tmp_path):
    _, db = analyzed
    results = tmp_path / "results"
    fingerprint = f"{RESULTS_FORMAT}:{load_firewalls(db)['fw01'].fingerprint()}"
    results.write_text('["ace", "fw01", "gone_acl", 3]\t{"hits": 5, "first": "a", "last": "b", '
                       '"rules": [[0, 5, "a", "b"]], "connections": []}\n'
                       '["counter", "lines"]\t5\n["counter", "matched"]\t5\n'
                       f'"ruleset\\tfw01"\t["{fingerprint}"]\n')
    result = cli_runner().invoke(main, ["report", str(results), "--db", db, "--format", "json"])
    assert "not in" in result.output
    report = json.loads(result.stdout)
    assert report["unknown_results"] == [{"firewall": "fw01", "acl": "gone_acl", "line": 3,
                                          "hits": 5}]


def text_report(db, tmp_path) -> tuple:
    """The text report of the samples, and its list of pruning candidates."""
    results = tmp_path / "results"
    cli("run", *SAMPLE_LOGS, "--db", db, "-o", results)
    text = cli("report", results, "--db", db).stdout
    return text, text.split("pruning candidates ==")[1].split("\n\n")[0]


def test_aces_the_logs_cannot_show_are_not_pruning_candidates(analyzed, tmp_path):
    report, db = analyzed
    by_text = {r["text"]: r for r in report["rules"]}
    esp = by_text["access-list outside_in extended permit 50 object obj-vpn-peer interface "
                  "outside log disable"]
    assert (esp["visibility"], esp["unseen_protocols"]) == ("none", ["esp"])
    text, candidates = text_report(db, tmp_path)
    assert "permit 50" not in candidates
    assert "outside_in, line 8: permits esp, which the analysed log messages do not show" in text


def test_fqdn_aces_are_not_pruning_candidates(analyzed, tmp_path):
    text, candidates = text_report(analyzed[1], tmp_path)
    assert "obj-av-updates" not in candidates
    assert "inside_in, line 9: uses fqdn objects" in text
