"""Hostile input cannot run code, lie, or destroy files (issue 17): what the outputs show and
where they are written."""
import csv
import io
import json
import os
import threading

import pytest
from conftest import SAMPLE_CONFIGS, SAMPLE_LOGS, built, cli_runner, firewall

from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.asa.syslog import MALFORMED, LogParser
from ruleset_analysis.cli import main
from ruleset_analysis.database import load_firewalls, save_firewalls
from ruleset_analysis.records import collect
from ruleset_analysis.report import csv_report, html_report, text
from ruleset_analysis.report.build import make_report
from ruleset_analysis.report.safe import printable

HOSTILE = 'in"><svg/onload=alert(1)>'


def report_with_acl_named(name):
    fw = firewall(f"access-list {name} extended permit tcp any any eq 443\n"
                  f"access-list {name} remark =HYPERLINK(\"http://x\")\x1b]52;c;Zm9v\x07\u202e\n"
                  f"access-group {name} in interface outside\n")
    analyzer = LineAnalyzer({"fw01": fw}, "2014")
    return make_report({"fw01": fw}, collect(analyzer.finish()))


def run(*args):
    return cli_runner().invoke(main, [str(a) for a in args])


def test_a_hostile_acl_name_is_text_in_the_html_never_markup():
    page = html_report.render(report_with_acl_named(HOSTILE))
    assert "<svg" not in page and "&lt;svg/onload=alert(1)&gt;" in page
    assert 'id="ace-in"' not in page           # ids are digests, not names


def test_csv_cells_never_start_a_formula():
    rows = list(csv.reader(io.StringIO(csv_report.render(report_with_acl_named("-acl")))))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'-acl" in cells and not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_terminal_escapes_and_bidi_overrides_are_shown_not_sent():
    out = text.render(report_with_acl_named("acl\x1b]52;c;Zm9v\x07\u202e"))
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "acl<U+001B>]52;c;Zm9v<U+0007><U+202E>" in out


def test_a_file_name_that_is_not_utf8_is_shown_in_escapes_not_sent():
    # Python gives its bytes as lone surrogates, which no UTF-8 file or terminal takes
    assert printable("/logs/caf\udce9/fw01.log") == "/logs/caf<U+DCE9>/fw01.log"


NOT_UTF8 = b"caf\xe9"       # a Latin-1 name: a share mounted from an older system


def named_not_utf8(tmp_path, stem: bytes):
    """A path below ``tmp_path`` whose name has bytes that are not UTF-8 (skip where the
    filesystem refuses such a name)."""
    path = os.path.join(os.fsencode(tmp_path), stem + NOT_UTF8)
    try:
        open(path, "wb").close()
        os.unlink(path)
    except OSError:
        pytest.skip("this filesystem takes only UTF-8 names")
    return os.fsdecode(path)


@pytest.mark.parametrize("fmt", ["text", "json", "csv", "html"])
def test_a_report_naming_a_log_whose_name_is_not_utf8_is_written(tmp_path, fmt):
    # it named the log it could not read whole; written to a file (or to a standard output
    # that is strict UTF-8: most locales') the report crashed at its end, the run lost
    import gzip
    log = named_not_utf8(tmp_path, b"fw01-") + ".log.gz"
    with open(SAMPLE_LOGS[0], "rb") as source:
        packed = gzip.compress(source.read())
    with open(log, "wb") as handle:
        handle.write(packed[:len(packed) // 2])             # cut: the report names it
    out = tmp_path / f"report.{fmt}"
    result = run("analyze", "-c", SAMPLE_CONFIGS[0], "--year", "2014", "--format", fmt, "-o",
                 out, log)
    assert result.exit_code == 0, result.output
    shown = out.read_text(encoding="utf-8")
    assert "fw01-caf" in shown and "\udce9" not in shown
    assert {"json": "fw01-caf\\udce9", "html": "fw01-caf&lt;U+DCE9&gt;"}.get(
        fmt, "fw01-caf<U+DCE9>") in shown


def test_a_text_report_naming_such_a_log_goes_to_a_strict_utf8_standard_output(tmp_path):
    import subprocess
    import sys
    log = named_not_utf8(tmp_path, b"fw01-") + ".log"
    with open(log, "wb") as handle:
        handle.write(b"\x1f\x8b")                       # not what its name says: named
    shown = subprocess.run([sys.executable, "-m", "ruleset_analysis.cli", "analyze", "-c",
                            SAMPLE_CONFIGS[0], "--year", "2014", log], capture_output=True,
                           env=dict(os.environ, PYTHONIOENCODING="utf-8:strict"))
    assert shown.returncode == 0, shown.stderr[-500:]
    assert b"fw01-caf<U+DCE9>.log" in shown.stdout


def test_a_log_named_with_a_newline_cannot_begin_a_line_of_the_report(tmp_path):
    # a warning naming it began a line of the file name's choosing
    log = tmp_path / "fw01" / "x\nWARNING: fake.log.gz"
    log.parent.mkdir()
    log.write_bytes(b"\x1f\x8b not gzip")                  # cannot be read: named
    result = run("analyze", "-c", SAMPLE_CONFIGS[0], "--year", "2014", log.parent,
                 SAMPLE_LOGS[0])
    assert result.exit_code == 0, result.output
    assert not [line for line in result.output.splitlines() if line.startswith("WARNING: fake")]
    assert "x<U+000A>WARNING: fake.log.gz" in result.stdout
    assert "x<U+000A>WARNING: fake.log.gz" in result.stderr


def test_a_database_whose_name_is_not_utf8_is_written_and_read(tmp_path):
    db = named_not_utf8(tmp_path, b"db-") + ".db"
    assert run("preprocess", SAMPLE_CONFIGS[0], "--db", db).exit_code == 0
    assert list(load_firewalls(db)) == ["fw01"]


@pytest.mark.parametrize("port", ["9" * 5000, "70000"])
def test_a_port_out_of_range_is_malformed_not_a_crash(port):
    line = built("inbound", "TCP", f"outside:192.0.2.1/{port}", "dmz:172.16.1.10/443")
    assert LogParser("2014").parse(line) == MALFORMED


@pytest.mark.parametrize("when", ["Feb 30 2014 10:00:00", "Jun 06 0000 10:00:00"])
def test_a_date_that_cannot_exist_is_malformed(when):
    line = built("inbound", "TCP", "outside:192.0.2.1/5000", "dmz:172.16.1.10/443", when=when)
    assert LogParser("2014").parse(line) == MALFORMED


def test_a_line_dated_in_the_future_is_an_outlier_not_evidence():
    fw = firewall("access-list o extended permit tcp any any eq 443\n"
                  "access-group o in interface outside\n")
    analyzer = LineAnalyzer({"fw01": fw}, "2014")
    analyzer.add(built("inbound", "TCP", "outside:192.0.2.1/5000", "dmz:172.16.1.10/443",
                       when="Jun 06 9998 10:00:00"))
    report = make_report({"fw01": fw}, collect(analyzer.finish()))
    assert report.counters == {"lines": 1, "time_outlier": 1}
    assert report.firewalls[0].status == "no data" and report.window["first"] is None


def two_weeks_and(*strays, https_ace=True):
    """fw01's report over one line a day on Jun 1..14 2014 (to port 443, or 80) and stray
    lines (dates) far from them."""
    fw = firewall("access-list o extended permit tcp any any eq 443\n"
                  "access-list o extended permit tcp any any eq 22\n"
                  "access-group o in interface outside\n")
    analyzer = LineAnalyzer({"fw01": fw}, "2014")
    for when in [f"Jun {d:02d} 2014 12:00:00" for d in range(1, 15)] + list(strays):
        analyzer.add(built("inbound", "TCP", "outside:192.0.2.1/5000", "dmz:172.16.1.10/443",
                           when=when))
    return make_report({"fw01": fw}, collect(analyzer.finish()))


def test_a_line_dated_years_before_the_logs_does_not_stretch_the_period_claimed():
    report = two_weeks_and("Jun 06 2009 10:00:00")
    evidence = report.firewalls[0]
    assert (evidence.first, evidence.last) == ("2014-06-01", "2014-06-14")
    assert "1 line(s) on 1 day(s) more than 60 days apart from the rest of its logs " \
           "(2009-06-06): misdated or forged?" in " ".join(evidence.notes)
    ssh = next(r for r in report.rules if r.line == 2)
    assert ssh.reason == "no hit in the logs of 2014-06-01 .. 2014-06-14 (14 days)"



def test_an_unused_claim_over_logs_with_gaps_says_on_how_many_days_there_were_logs():
    # the span alone read as two weeks of evidence where the logs cover two days of it
    fw = firewall("access-list o extended permit tcp any any eq 443\n"
                  "access-list o extended permit tcp any any eq 22\n"
                  "access-group o in interface outside\n")
    analyzer = LineAnalyzer({"fw01": fw}, "2014")
    for when in ("Jun 01 2014 12:00:00", "Jun 14 2014 12:00:00"):
        analyzer.add(built("inbound", "TCP", "outside:192.0.2.1/5000", "dmz:172.16.1.10/443",
                           when=when))
    report = make_report({"fw01": fw}, collect(analyzer.finish()))
    ssh = next(r for r in report.rules if r.line == 2)
    assert ssh.reason == "no hit in the logs of 2014-06-01 .. 2014-06-14 (14 days, logs on 2 " \
                         "of them)"

def test_a_line_dated_months_after_the_logs_does_not_move_the_unused_horizon():
    from ruleset_analysis.report import Filters
    fw = firewall("access-list o extended permit tcp any any eq 443\n"
                  "access-group o in interface outside\n")
    analyzer = LineAnalyzer({"fw01": fw}, "2014")
    for day in range(1, 31):
        analyzer.add(built("inbound", "TCP", "outside:192.0.2.1/5000", "dmz:172.16.1.10/443",
                           when=f"Jun {day:02d} 2014 12:00:00"))
    analyzer.add(built("inbound", "TCP", "outside:192.0.2.1/5000", "dmz:172.16.1.10/443",
                       when="Dec 24 2014 12:00:00"))
    report = make_report({"fw01": fw}, collect(analyzer.finish()),
                         filters=Filters(unused_since=10))
    assert report.firewalls[0].horizon.as_of == "2014-06-30"


def test_a_sparse_but_real_start_of_the_logs_is_not_a_stray():
    # 30 days in March, a 70-day outage, two weeks in June: March holds most of the lines
    report = two_weeks_and(*[f"Mar {d:02d} 2014 12:00:00" for d in range(1, 31)])
    assert report.firewalls[0].first == "2014-03-01"


def test_an_output_that_is_an_input_is_refused(tmp_path, sample_db):
    log = tmp_path / "a.log"
    log.write_text("garbage\n")
    result = run("run", log, "--db", sample_db, "-o", log)
    assert result.exit_code == 1 and "is an input of this command" in result.output
    assert log.read_text() == "garbage\n"
    result = run("report", log, "--db", sample_db, "-o", sample_db)
    assert result.exit_code == 1 and load_firewalls(sample_db)


@pytest.mark.parametrize("option", ["-o", "--results"])
def test_an_output_that_cannot_be_written_is_refused_before_the_job_not_after(
        tmp_path, monkeypatch, option):
    # a report into a directory that does not exist: the whole run (hours of a year's logs)
    # went, then the report could not be written
    from ruleset_analysis import cli

    def run_job(*args, **kwargs):
        raise AssertionError("the job ran")
    monkeypatch.setattr(cli, "run_job", run_job)
    target = tmp_path / "gone" / "report.txt"
    result = run("analyze", "-c", SAMPLE_CONFIGS[0], option, target, SAMPLE_LOGS[0])
    assert (result.exit_code, result.output.splitlines()) == (
        1, [f"Error: {target}: cannot write: No such file or directory"])


def test_an_output_inside_an_input_directory_is_refused(tmp_path, sample_db):
    (tmp_path / "logs").mkdir()
    result = run("run", tmp_path / "logs", "--db", sample_db, "-o", tmp_path / "logs" / "res")
    assert result.exit_code == 1 and "is an input" in result.output


def test_an_output_onto_a_device_is_refused_and_a_symlink_writes_its_target(tmp_path,
                                                                          sample_db):
    log = tmp_path / "a.log"
    log.write_text("garbage\n")
    result = run("run", log, "--db", sample_db, "-o", "/dev/null")
    assert result.exit_code == 1 and "not a regular file" in result.output
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    target, link = tmp_path / "target", tmp_path / "link"
    target.write_text("old")
    link.symlink_to(target)
    assert run("run", log, "--db", sample_db, "-o", link).exit_code == 0
    assert link.is_symlink() and json.loads(target.read_text().splitlines()[0].split("\t")[1])


def test_an_output_fifo_is_streamed_into(tmp_path, sample_db):
    log = tmp_path / "a.log"
    log.write_text("garbage\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo).read()))
    reader.start()
    assert run("run", log, "--db", sample_db, "-o", fifo).exit_code == 0
    reader.join(30)
    assert "counter" in received[0] and os.path.exists(fifo) and not os.path.isfile(fifo)


def test_concurrent_preprocess_runs_keep_every_firewall(tmp_path):
    db = str(tmp_path / "db")
    names = [f"fw{n:02d}" for n in range(6)]
    threads = [threading.Thread(target=save_firewalls, args=(
        db, [firewall("access-list a extended permit ip any any\n", name)])) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(load_firewalls(db)) == names
