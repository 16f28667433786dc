"""Huge and odd input is classified or reported: never a crash, never a hang, nothing lost."""
import bz2
import gzip
import json
import zlib

import pytest
from conftest import SAMPLE_CONFIGS, SAMPLE_LOGS, built, cli_runner, firewall

from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.cli import main
from ruleset_analysis.report import read_results

CONFIG = "access-list a extended permit ip any any\naccess-group a in interface outside\n"


@pytest.fixture(autouse=True)
def no_hang(deadline):
    """Every case here must finish in seconds: none waits for ever."""


def counts(lines):
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    for line in lines:
        analyzer.add(line)
    return analyzer.counts()


def test_ten_megabyte_lines_are_classified():
    huge = "x" * 10_000_000
    lines = [huge,
             "Jun 06 2014 14:47:35 fw01 : %ASA-6-302013: Built inbound TCP connection " + huge,
             huge + " %ASA-6-302013: Built inbound TCP connection 1 for a:" + huge,
             "Jun 06 2014 14:47:35 fw01 : %ASA-4-106023: Deny tcp src " + huge + " dst " + huge,
             "Jun 06 2014 14:47:35 fw01 : %ASA-6-106100: access-list a permitted tcp " + huge]
    result = counts(lines)
    assert result["lines"] == 5 and result.get("malformed", 0) + \
        result.get("unrecognized", 0) + result.get("no_timestamp", 0) == 5


def test_a_long_header_is_not_cached():
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    line = built("inbound", "TCP", "outside:192.0.2.1/1000", "inside:10.0.0.1/80")
    for n in range(50):
        analyzer.add(f"{'y' * 5000}{n} " + line)
    assert analyzer.counts()["matched"] == 50
    assert not analyzer.heads and len(analyzer.parser.headers) == 0


def test_binary_garbage_nul_bytes_and_latin1_are_classified():
    lines = ["\x00\x01\x02\xff\xfe", "Jun 06 2014 14:47:35 fw01 : %ASA-6-302013: Built inbound "
             "TCP connection 1 for outside:1.2.3.4\x00/80 (1.2.3.4/80) to inside:10.0.0.1/80 "
             "(10.0.0.1/80)", "caf\xe9 %ASA-6-302014: Teardown", "\x00" * 1000]
    result = counts(lines)
    assert result == {"lines": 4, "unrecognized": 2, "malformed": 1, "not_relevant": 1}


def run_results(tmp_path, name, data: bytes, sample_db):
    log = tmp_path / name
    log.write_bytes(data)
    results = tmp_path / (name + ".results")
    result = cli_runner().invoke(main, ["run", str(log), "--db", sample_db, "--year", "2014",
                                       "-o", str(results)])
    return result, results


def test_crlf_line_endings_give_the_same_results(tmp_path, sample_db):
    data = open(SAMPLE_LOGS[0], "rb").read()
    _, lf = run_results(tmp_path, "lf.log", data, sample_db)
    _, crlf = run_results(tmp_path, "crlf.log", data.replace(b"\n", b"\r\n"), sample_db)
    assert crlf.read_text() == lf.read_text()


def test_non_utf8_and_binary_bytes_through_the_job(tmp_path, sample_db):
    data = (b"\xff\xfe\x00garbage\n" + built("inbound", "TCP", "outside:192.0.2.1/1000",
                                              "dmz:172.16.1.10/443").encode() +
            b"\n\x80\x81 %ASA-6-302014: Teardown \xe9\n")
    result, results = run_results(tmp_path, "odd.log", data, sample_db)
    assert result.exit_code == 0
    counters = read_results([str(results)]).counters
    assert counters == {"lines": 3, "unrecognized": 1, "matched": 1, "not_relevant": 1}


def test_an_empty_log_gives_an_empty_but_complete_report(tmp_path, sample_db):
    result, results = run_results(tmp_path, "empty.log", b"", sample_db)
    assert result.exit_code == 0
    report = cli_runner().invoke(main, ["report", str(results), "--db", sample_db, "--format",
                                       "json"])
    data = json.loads(report.stdout)
    assert data["counters"] == {"lines": 0} and len(data["rules"]) > 30
    assert all(rule["hits"] == 0 and not rule["unused"] for rule in data["rules"])
    assert {fw["status"] for fw in data["firewalls"]} == {"no data"}


def test_a_truncated_gzip_is_reported_with_file_and_line_and_the_rest_is_analysed(tmp_path,
                                                                                  sample_db):
    packed = gzip.compress(open(SAMPLE_LOGS[0], "rb").read())
    result, results = run_results(tmp_path, "cut.log.gz", packed[:len(packed) // 3], sample_db)
    assert result.exit_code == 0
    assert "cut.log.gz:" in result.output and "the rest is missing" in result.output
    report = cli_runner().invoke(main, ["report", str(results), "--db", sample_db])
    assert report.stdout.startswith("WARNING: input: ")
    assert "cannot read further" in report.stdout
    parsed = cli_runner().invoke(main, ["parse-log", str(tmp_path / "cut.log.gz")])
    assert parsed.exit_code == 1 and "cut.log.gz:" in parsed.output


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz", "zstd"])
def test_a_truncated_archive_gives_every_whole_line_before_its_break(tmp_path, kind):
    import lzma

    from ruleset_analysis.report.lines import ZSTD, LogError, read_lines
    text = b"".join(b"Jun 01 2014 00:00:%02d fw01 : %%ASA-6-302014: Teardown TCP connection "
                    b"%d for a:10.0.%d.%d/1 to b:10.1.0.1/2 duration 0:00:01 bytes %d\n"
                    % (n % 60, n, n // 256 % 256, n % 256, n * 7919 % 100003)
                    for n in range(40_000))     # several times the reader's buffer
    if kind == "zstd" and ZSTD is None:
        pytest.skip("zstd needs Python 3.14 or the zstd extra")
    pack, decoder, ending = {"gzip": lambda: (gzip.compress, zlib.decompressobj(31), "gz"),
                             "bzip2": lambda: (bz2.compress, bz2.BZ2Decompressor(), "bz2"),
                             "xz": lambda: (lzma.compress, lzma.LZMADecompressor(), "xz"),
                             "zstd": lambda: (ZSTD.compress, ZSTD.ZstdDecompressor(), "zst")
                             }[kind]()
    packed = pack(text)
    cut = packed[:len(packed) // 2]
    whole = decoder.decompress(cut).count(b"\n")       # the lines the cut archive holds
    log = tmp_path / f"cut.log.{ending}"
    log.write_bytes(cut)
    read = []
    with pytest.raises(LogError, match=f"cut.log.*:{whole + 1}: cannot read further"):
        read.extend(read_lines(str(log)))
    assert whole > 10_000 and len(read) == whole
    assert read[-1].encode() + b"\n" == text.splitlines(keepends=True)[whole - 1]


def test_a_results_file_with_binary_garbage_is_one_clear_error(tmp_path, sample_db):
    bogus = tmp_path / "results"
    bogus.write_bytes(b'["counter", "lines"]\t1\n\xff\xfe\x00\x00\n')
    result = cli_runner().invoke(main, ["report", str(bogus), "--db", sample_db])
    assert result.exit_code == 1 and f"{bogus}" in result.output
    assert "Traceback" not in result.output


# -- configs that would exhaust memory or the stack ----------------------------------------
def nested(levels, kind="service g{i} tcp", leaf=" port-object eq 80", twice=True):
    lines = []
    for i in range(levels):
        lines.append(f"object-group {kind.format(i=i)}")
        lines += [f" group-object g{i + 1}"] * (2 if twice else 1) if i + 1 < levels else [leaf]
    return "\n".join(lines) + "\n"


def test_a_config_larger_than_any_config_is_refused_in_one_line_not_read_whole(tmp_path,
                                                                            monkeypatch):
    # a log given as a config (the arguments swapped), /dev/zero: read till memory ran out
    from ruleset_analysis import revisions
    monkeypatch.setattr(revisions, "CONFIG_LIMIT", 1 << 20)
    big = tmp_path / "fw01.log"
    big.write_text("x" * ((1 << 20) + 1))
    result = cli_runner().invoke(main, ["preprocess", str(big), "--db", str(tmp_path / "db")])
    assert (result.exit_code, result.output.splitlines()) == (
        1, [f"Error: {big}: over 1 MB: not a config (a log, a device?)"])
    big.write_text("hostname fw01\n" + "!" * ((1 << 20) - 14))      # at the bound: a config
    result = cli_runner().invoke(main, ["preprocess", str(big), "--db", str(tmp_path / "db")])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("bound, command, said", [
    ("counters.CAPTURE_LIMIT", ["hitcounts", "--db", "DB", "BIG"],
     "not a `show access-list` capture"),
    ("asa.routes.ROUTES_LIMIT", ["preprocess", "CONFIG", "--routes", "BIG", "--db", "DB"],
     "not `show route` output")])
def test_a_capture_or_routes_larger_than_any_is_refused_in_one_line_not_read_whole(
        tmp_path, monkeypatch, sample_db, bound, command, said):
    # `-s fw01.log` for `-c`: the whole log read, till the memory ran out (/dev/zero: never
    # ending)
    import importlib
    module, name = bound.rsplit(".", 1)
    monkeypatch.setattr(importlib.import_module(f"ruleset_analysis.{module}"), name, 1 << 20)
    big = tmp_path / "fw01.log"
    big.write_text("x" * ((1 << 20) + 1))
    given = {"DB": sample_db, "BIG": str(big), "CONFIG": SAMPLE_CONFIGS[0]}
    result = cli_runner().invoke(main, [given.get(arg, arg) for arg in command])
    assert (result.exit_code, result.output.splitlines()[-1]) == (
        1, f"Error: {big}: over 1 MB: {said} (a log, a device?)")


def test_exponential_group_nesting_is_refused_before_it_is_built():
    fw = firewall(nested(40) + "access-list a extended permit tcp any any object-group g0\n")
    assert "expands to more than 100000 members" in fw.acls["a"].entries[0].error


def test_deep_group_nesting_is_an_error_not_a_recursion_crash():
    fw = firewall(nested(300, "network g{i}", " network-object host 10.0.0.1", twice=False)
                  + "access-list a extended permit ip object-group g0 any\n")
    assert "nested more than 64 deep" in fw.acls["a"].entries[0].error


def test_an_icmp_type_group_cycle_is_an_error():
    fw = firewall("object-group icmp-type i1\n group-object i2\nobject-group icmp-type i2\n"
                  " group-object i1\naccess-list a extended permit icmp any any object-group i1\n")
    assert "contains itself" in fw.acls["a"].entries[0].error


@pytest.mark.parametrize("clause", ["lt 0", "gt 65535"])
def test_a_port_clause_that_matches_no_port_is_an_error(clause):
    fw = firewall(f"access-list a extended permit tcp any any {clause}\n")
    assert "matches no port" in fw.acls["a"].entries[0].error


# -- identity: another config cannot take a firewall's lines ---------------------------------
def test_a_hostname_outranks_another_configs_device_id_string():
    from ruleset_analysis.aggregate import device_ids, identity_conflicts
    victim = firewall("access-list a extended permit ip any any\n", "fw01")
    victim.name = "site-a"                   # preprocessed with --name; its hostname is fw01
    thief = firewall("logging device-id string fw01\n", "fw99")
    fws = {"site-a": victim, "fw99": thief}
    assert device_ids(fws)["fw01"] == "site-a"
    assert identity_conflicts(fws) == [
        "device id 'fw01' is claimed by fw99 (alias), site-a (hostname): its lines go to "
        "site-a"]


def test_preprocess_warns_of_a_device_id_a_firewall_stored_before_claims_too(tmp_path):
    (tmp_path / "a.cfg").write_text("hostname fw01\naccess-list a extended permit ip any any\n")
    (tmp_path / "b.cfg").write_text("hostname fw99\nlogging device-id string fw01\n")
    db = str(tmp_path / "db")
    first = cli_runner().invoke(main, ["preprocess", str(tmp_path / "a.cfg"), "--name",
                                       "site-a", "--db", db])
    assert first.exit_code == 0 and "claimed" not in first.output
    second = cli_runner().invoke(main, ["preprocess", str(tmp_path / "b.cfg"), "--db", db])
    assert second.exit_code == 0
    assert "device id 'fw01' is claimed by fw99 (alias), site-a (hostname): its lines go to " \
        "site-a" in second.output


def test_two_configs_naming_one_firewall_in_one_run_is_an_error(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.cfg").write_text("hostname fw01\n")
    result = cli_runner().invoke(main, ["preprocess", str(tmp_path / "a.cfg"),
                                       str(tmp_path / "b.cfg"), "--db", str(tmp_path / "db")])
    assert result.exit_code == 1 and "several configs name the firewall fw01" in result.output


@pytest.mark.parametrize("kind", ["xz", "zst"])
def test_a_corrupt_xz_or_zstd_is_a_break_with_file_and_line_not_a_crash(tmp_path, kind):
    # lzma's and zstd's errors are no OSError: a corrupt block must still be the log's break
    import lzma

    from ruleset_analysis.report.lines import ZSTD, LogError, read_lines
    text = b"".join(b"line %d\n" % n for n in range(200_000))
    packed = bytearray((lzma.compress if kind == "xz" else ZSTD.compress)(text))
    packed[len(packed) // 2] ^= 0xFF
    log = tmp_path / f"bad.log.{kind}"
    log.write_bytes(bytes(packed))
    with pytest.raises(LogError, match=rf"bad.log.{kind}:\d+: cannot read further: "):
        for _ in read_lines(str(log)):
            pass


def bomb_parsed(bomb, opener, **options) -> None:
    """Pack 64 MiB without a newline, then a line of garbage, into ``bomb``: parse-log reads
    one malformed line and one unrecognized."""
    with opener(bomb, "wb", **options) as handle:
        for _ in range(64):
            handle.write(b"A" * (1 << 20))
        handle.write(b"\ngarbage\n")
    parsed = cli_runner().invoke(main, ["parse-log", str(bomb)])
    categories = [json.loads(line)["category"] for line in parsed.stdout.splitlines()]
    assert parsed.exit_code == 0 and categories == ["malformed", "unrecognized"]


@pytest.mark.parametrize("kind", ["xz", "zst"])
def test_a_newline_free_xz_or_zstd_bomb_is_one_malformed_line_read_in_bounded_pieces(
        tmp_path, sample_db, kind):
    import lzma
    import resource
    import subprocess
    import sys

    from conftest import ROOT

    from ruleset_analysis.report.lines import ZSTD
    bomb = tmp_path / "fw01" / f"bomb.log.{kind}"
    bomb.parent.mkdir()
    if kind == "xz":
        bomb_parsed(bomb, lzma.open, preset=1)
    else:
        bomb_parsed(bomb, ZSTD.open)
    run = subprocess.run(
        [sys.executable, "-m", "ruleset_analysis.cli", "run", str(bomb), "--db", sample_db,
         "-o", str(tmp_path / "results")], cwd=ROOT, capture_output=True, text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)))
    assert run.returncode == 0, run.stderr
    assert '"counter\\tmalformed"\t1' in (tmp_path / "results").read_text()


def test_a_newline_free_decompression_bomb_is_one_malformed_line_not_a_memory_error(tmp_path,
                                                                                  sample_db):
    import os
    import resource
    import subprocess
    import sys

    from conftest import ROOT
    bomb = tmp_path / "bomb.log.gz"
    bomb_parsed(bomb, gzip.open, compresslevel=9)
    piped = subprocess.run(
        f"zcat {bomb} | {sys.executable} scripts/mapper.py --db {sample_db}", shell=True,
        cwd=ROOT, capture_output=True, check=True, text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)))
    assert '"counter\\tmalformed"\t1' in piped.stdout and os.path.exists(bomb)
