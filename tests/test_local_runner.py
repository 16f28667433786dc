"""-r local streams its inputs on this machine's cores and gives the cluster runners' bytes."""
import bz2
import gzip
import io
import os
import random
import shutil

import pytest
from conftest import SAMPLE_LOGS, cli_runner, workers_alive_after_kill

from ruleset_analysis.local_runner import (
    Task,
    _Share,
    byte_range,
    end_worker,
    map_task,
    run_local,
    tasks_of,
)
from ruleset_analysis.model import collector_paused
from ruleset_analysis.options import JobOptions
from ruleset_analysis.records import encode
from ruleset_analysis.runner import run_job


def ranges_read(path, split_bytes):
    lines = []
    for task in sorted(tasks_of([path], split_bytes), key=lambda t: t.start):
        with open(path, "rb") as handle:
            reader = byte_range(handle, task.start, 1 << 62 if task.end is None else task.end)
            lines += iter(reader.readline, b"")
    return lines


@pytest.mark.parametrize("seed", range(20))
def test_byte_ranges_read_every_line_once_whatever_the_split(tmp_path, seed):
    rng = random.Random(seed)
    data = b"".join(rng.choice([b"", b"x" * rng.randrange(1, 40), b"\r"]) + b"\n"
                    for _ in range(rng.randrange(1, 60)))
    if rng.random() < 0.5:
        data += b"no newline at the end"
    path = tmp_path / "log"
    path.write_bytes(data)
    assert ranges_read(str(path), rng.randrange(1, 50)) == data.splitlines(keepends=True)


def lines_of(data: bytes) -> list:
    """A file's lines as the readers take them: each up to and with its newline; the last
    without one if the file does not end in one."""
    parts = data.split(b"\n")
    return [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


class Pieces:
    """A decompressed stream whose every read1 gives a piece of a random size."""

    def __init__(self, data: bytes, rng: random.Random):
        self.data, self.rng, self.position = data, rng, 0

    def read1(self, size=-1):
        piece = self.data[self.position:self.position + self.rng.randrange(1, 60)]
        self.position += len(piece)
        return piece


@pytest.mark.parametrize("seed", range(40))
def test_shares_of_an_archive_read_each_line_once_in_the_share_of_its_first_bytes_block(seed):
    rng = random.Random(seed)
    data = b"".join(rng.choice([b"", b"x" * rng.randrange(1, 40), b"y" * rng.randrange(60, 200),
                                b"\r"]) + b"\n" for _ in range(rng.randrange(0, 60)))
    if rng.random() < 0.5:
        data += b"no newline at the end"
    block, shares = rng.randrange(1, 50), rng.randrange(1, 5)
    expected = [b""] * shares
    position = 0
    for line in lines_of(data):
        expected[position // block % shares] += line
        position += len(line)
    for share in range(shares):
        reader = _Share(Pieces(data, rng), share, shares, block)
        assert b"".join(iter(reader.read1, b"")) == expected[share]
        assert reader.lines == data.count(b"\n")


GZIP, BZIP2 = b"\x1f\x8b", b"BZh9"


def sized(tmp_path, name: str, size: int, magic: bytes = b"") -> str:
    """A file of ``size`` bytes: an archive by its first bytes (``magic``: all tasks_of reads
    of it), else lines of "x"."""
    path = tmp_path / name
    path.write_bytes(magic + bytes(size - len(magic)) if magic else b"x\n" * (size // 2))
    return str(path)


def shares(path: str, count: int) -> list:
    """The tasks of an archive read in ``count`` shares (one: whole)."""
    return [Task(path)] if count == 1 else [Task(path, share=n, shares=count)
                                           for n in range(count)]


def test_files_are_read_in_more_parts_where_the_tasks_are_fewer_than_the_workers(tmp_path):
    big, small = sized(tmp_path, "big.log.gz", 9000, GZIP), \
        sized(tmp_path, "small.log.gz", 3000, GZIP)
    plain = sized(tmp_path, "plain.log", 3000)
    assert tasks_of([big], workers=1, share_bytes=1000) == [Task(big)]
    assert tasks_of([big], workers=4, share_bytes=1000) == shares(big, 4)
    # no share below its least bytes; a worker more to the archive of the most bytes a share
    assert len(tasks_of([big], workers=4, share_bytes=4000)) == 2
    assert sorted(tasks_of([small, big], workers=4, share_bytes=1000)) == sorted(
        [Task(small)] + shares(big, 3))
    # enough tasks, none with more than an equal share of the work: an archive whole beside
    # a plain file's ranges
    large = sized(tmp_path, "large.log", 150000)
    assert sorted(tasks_of([small, large], split_bytes=1000, workers=4,
                           share_bytes=1000)) == sorted(
        [Task(small)] + [Task(large, start, start + 1000) for start in range(0, 150000, 1000)])
    # a plain file below the split in equal ranges, as many as its least bytes allow
    ranges = [Task(plain, start, start + 1000) for start in (0, 1000, 2000)]
    assert tasks_of([plain], workers=1, share_bytes=1000) == [Task(plain)]
    assert sorted(tasks_of([plain], workers=4, share_bytes=1000)) == ranges


def test_an_archives_bytes_weigh_as_the_text_they_pack_when_tasks_are_ordered_and_shared(
        tmp_path):
    # (syslog text packs about thirteenfold: WORK_PER_BYTE)
    archive = sized(tmp_path, "small.log.gz", 2000, GZIP)   # the work of 30,000 plain bytes
    plain = sized(tmp_path, "plain.log", 12000)
    # started first, though a range has more bytes: else it might start last and run alone
    assert tasks_of([plain, archive], split_bytes=4000)[0] == Task(archive)
    # a worker's share of the work sizes the plain file's ranges (a quarter of it at most):
    # weighed by its bytes alone, the archive would have made them 900 bytes
    plain = sized(tmp_path, "plain.log", 6000)
    assert sorted(tasks_of([plain, archive], workers=3, share_bytes=900)) == sorted(
        [Task(plain, start, start + 2000) for start in (0, 2000, 4000)] + shares(archive, 2))


def test_a_plain_file_is_read_in_ranges_of_a_quarter_of_a_workers_share_so_they_end_together(
        tmp_path):
    # in ranges of the split's size, 3: one worker of 2 read two of them, the other one
    plain = sized(tmp_path, "one.log", 17800)
    assert len(tasks_of([plain], split_bytes=6400, workers=1)) == 3
    tasks = tasks_of([plain], split_bytes=6400, workers=2, share_bytes=100)
    assert [task.end - task.start for task in tasks] == [2225] * 8
    # no more ranges than ranges of the least bytes of a part, rounded up
    assert len(tasks_of([plain], split_bytes=6400, workers=2, share_bytes=5000)) == 4


def test_small_tasks_go_to_a_worker_in_batches_in_their_order_a_large_one_alone():
    from ruleset_analysis.local_runner import BATCH_WORK, batches_of
    tasks = [Task(f"{n}.log.gz") for n in range(7)]
    work = dict(zip(tasks, [BATCH_WORK * 3] + [BATCH_WORK // 2] * 6))
    assert batches_of(tasks, work, workers=1) == [tasks[:1], tasks[1:3], tasks[3:5], tasks[5:]]


def test_a_few_small_tasks_still_go_to_every_worker():
    from ruleset_analysis.local_runner import batches_of
    tasks = [Task(f"{n}.log") for n in range(4)]
    assert batches_of(tasks, dict.fromkeys(tasks, 1000), workers=4) == [[t] for t in tasks]


def test_a_bzip2_archives_bytes_weigh_more_than_a_gzip_archives(tmp_path):
    # bzip2 packs tighter and decompresses dearer: of the same bytes, the more work first
    gzipped = sized(tmp_path, "a.log.gz", 2000, GZIP)
    bzipped = sized(tmp_path, "b.log.bz2", 2000, BZIP2)
    assert tasks_of([gzipped, bzipped]) == [Task(bzipped), Task(gzipped)]


@pytest.mark.parametrize("magic, count", [(GZIP, 2), (BZIP2, 1)], ids=["gzip", "bzip2"])
def test_an_archive_with_more_than_an_equal_share_of_the_work_is_shared_unless_bzip2(
        tmp_path, magic, count):
    # among enough tasks, it would run alone at the end; a bzip2 share decompresses it all,
    # nearly the mapper's cost, which other tasks' workers are better spent on
    small = [sized(tmp_path, f"small{n}.log", 1000) for n in range(4)]
    archive = sized(tmp_path, "large.log.gz", 2000, magic)  # the work of 30,000-70,000 bytes
    assert sorted(tasks_of([archive] + small, workers=2, share_bytes=500)) == sorted(
        [Task(path) for path in small] + shares(archive, count))


@pytest.mark.parametrize("magic, count", [(GZIP, 2), (BZIP2, 1)], ids=["gzip", "bzip2"])
def test_of_three_archives_to_two_workers_one_is_shared_so_each_worker_gets_half_unless_bzip2(
        tmp_path, magic, count):
    # whole, one worker read two of them while the other waited
    archives = [sized(tmp_path, f"{n}.log.gz", 3000, magic) for n in range(3)]
    assert sorted(tasks_of(archives, workers=2, share_bytes=1000)) == sorted(
        [Task(archives[1]), Task(archives[2])] + shares(archives[0], count))
    # four: two each, whole; and never more shares than workers
    archives.append(sized(tmp_path, "3.log.gz", 3000, magic))
    assert tasks_of(archives, workers=2, share_bytes=1000) == [Task(path) for path in archives]
    assert len(tasks_of(archives[:1], workers=2, share_bytes=10)) == 2


def gzipped_sample(tmp_path, copies: int = 3) -> str:
    log = tmp_path / "fw01" / "sample.log.gz"
    os.makedirs(log.parent)
    log.write_bytes(gzip.compress(open(SAMPLE_LOGS[0], "rb").read() * copies))
    return str(log)


def test_each_share_counts_at_most_its_part_of_the_archives_bytes_the_parts_its_size(
        tmp_path):
    from ruleset_analysis.local_runner import _open_chunks, _task_bytes
    log = gzipped_sample(tmp_path)
    tasks = [Task(log, share=share, shares=3) for share in range(3)]
    for task in tasks:
        where: list = [None, None]
        read = [where[0]() for _ in _open_chunks(task, where)]
        assert read == sorted(read) and 0 < read[-1] <= _task_bytes(task)
    assert sum(map(_task_bytes, tasks)) == os.path.getsize(log)


@pytest.fixture
def small_shares(monkeypatch):
    """An archive of the sample logs' size read in shares, of blocks of 4 KB."""
    from ruleset_analysis import local_runner
    monkeypatch.setattr(local_runner, "SHARE_MIN_BYTES", 1)
    monkeypatch.setattr(local_runner, "SHARE_BLOCK", 4096)


def test_an_archive_read_in_shares_gives_the_bytes_every_runner_gives(tmp_path, sample_db,
                                                                      small_shares):
    log = gzipped_sample(tmp_path)
    options = JobOptions(year="2014", max_connections=3)
    assert len(tasks_of([log], workers=3)) == 3
    lines, problems = run_local([log], sample_db, options, workers=3)
    assert problems == [] and lines == run_job([log], sample_db, "inline", options)


def test_an_archive_read_in_shares_breaks_where_it_breaks_read_whole_and_says_it_once(
        tmp_path, sample_db, small_shares):
    log = gzipped_sample(tmp_path)
    with open(log, "rb") as handle:
        data = handle.read()
    with open(log, "wb") as handle:
        handle.write(data[:len(data) * 2 // 3])
    options = JobOptions(year="2014")
    expected = run_job([log], sample_db, "inline", options)
    lines, problems = run_local([log], sample_db, options, workers=3)
    assert len(problems) == 1 and "cannot read further" in problems[0][1]
    assert run_job([log], sample_db, "local", options) == expected
    assert sum(line.startswith('"input_error') for line in expected) == 1


# 3: every task's lists, and their merges, are samples with services
@pytest.mark.parametrize("max_connections", [None, 3])
def test_local_results_are_byte_for_byte_mrjobs_with_split_and_compressed_inputs(
        tmp_path, sample_db, max_connections):
    logs = []
    for i, path in enumerate(SAMPLE_LOGS):
        name = os.path.basename(os.path.dirname(path))
        os.makedirs(tmp_path / name)
        target = tmp_path / name / os.path.basename(path)
        if i == 1:                       # one compressed, whole; the others in ranges
            with open(path, "rb") as source, gzip.open(f"{target}.gz", "wb") as gz:
                shutil.copyfileobj(source, gz)
            target = f"{target}.gz"
        else:
            shutil.copy(path, target)
        logs.append(str(target))
    options = JobOptions(year="2014", **({"max_connections": max_connections}
                                          if max_connections else {}))
    expected = run_job(logs, sample_db, "inline", options)
    if max_connections:
        assert '"services"' in "".join(expected)
    lines, problems = run_local(logs, sample_db, options, workers=2, split_bytes=100_000)
    assert problems == [] and len(tasks_of(logs, 100_000)) > 10
    assert lines == expected


@pytest.mark.parametrize("logs", [["fw01.log.lz4"], []], ids=["none read", "none given"])
def test_with_no_line_to_read_the_local_results_are_mrjobs_naming_the_rulesets(
        tmp_path, sample_db, logs):
    # no map task ran: the results named no ruleset, and the report said the firewalls had
    # been added to the database after the run
    for name in logs:
        (tmp_path / name).write_bytes(b"\x04\x22\x4d\x18 not read")
    paths = [str(tmp_path / name) for name in logs]
    expected = run_job(paths, sample_db, "inline", JobOptions(year="2014"))
    assert any(line.startswith('"ruleset') for line in expected)
    assert run_job(paths, sample_db, "local", JobOptions(year="2014")) == expected


def test_a_cluster_job_with_every_log_left_out_fails_with_one_line(tmp_path, sample_db):
    # mrjob given no input reads standard input
    from ruleset_analysis.asa.config import ConfigError
    log = tmp_path / "fw01.log.lz4"
    log.write_bytes(b"\x04\x22\x4d\x18 not read")
    with pytest.raises(ConfigError, match="no log left to read: every input was left out"):
        run_job([str(log)], sample_db, "hadoop", JobOptions(year="2014"))


def test_a_truncated_archive_is_read_to_its_break_and_said(tmp_path, sample_db):
    data = gzip.compress(open(SAMPLE_LOGS[0], "rb").read())
    cut = tmp_path / "fw01" / "cut.log.gz"
    os.makedirs(cut.parent)
    cut.write_bytes(data[:len(data) // 2])
    options = JobOptions(year="2014")
    expected = run_job([str(cut)], sample_db, "inline", options)
    assert run_job([str(cut)], sample_db, "local", options) == expected
    assert any(line.startswith('"input_error') and "cannot read further" in line
               for line in expected)


@pytest.mark.parametrize("kind", ["gz", "bz2"])
def test_an_archive_of_several_members_is_read_to_its_end_by_every_runner(tmp_path, sample_db,
                                                                          kind):
    from ruleset_analysis.report.lines import read_lines
    text = open(SAMPLE_LOGS[0], "rb").read()
    total = 6 * text.count(b"\n")
    log = tmp_path / "fw01" / f"rotated.log.{kind}"     # rotated files joined, pbzip2
    os.makedirs(log.parent)
    pack = gzip.compress if kind == "gz" else bz2.compress
    log.write_bytes(b"".join(pack(text * 2) for _ in range(3)))
    assert len(list(read_lines(str(log)))) == total
    options = JobOptions(year="2014")
    lines, problems = run_local([str(log)], sample_db, options, workers=2)
    assert problems == [] and lines == run_job([str(log)], sample_db, "inline", options)
    assert f'"counter\\tlines"\t{total}' in lines


@pytest.mark.parametrize("kind", ["xz", "zst"])
def test_an_xz_or_zstd_log_gives_every_runner_the_results_of_its_text(tmp_path, sample_db,
                                                                      small_shares, kind):
    # logrotate's other compressors: mrjob reads them through a plain copy
    import lzma

    from ruleset_analysis.report.lines import ZSTD
    log = tmp_path / "fw01" / f"sample.log.{kind}"
    os.makedirs(log.parent)
    pack = lzma.compress if kind == "xz" else ZSTD.compress
    log.write_bytes(pack(open(SAMPLE_LOGS[0], "rb").read() * 3))
    plain = tmp_path / "plain" / "fw01" / "sample.log"
    os.makedirs(plain.parent)
    plain.write_bytes(open(SAMPLE_LOGS[0], "rb").read() * 3)
    options = JobOptions(year="2014", max_connections=3)
    expected = run_job([str(plain)], sample_db, "inline", options)
    assert len(tasks_of([str(log)], workers=3)) == 3           # read in shares
    assert run_local([str(log)], sample_db, options, workers=3) == (expected, [])
    assert run_job([str(log)], sample_db, "inline", options) == expected


@pytest.mark.parametrize("kind,magic", [("lz4", b"\x04\x22\x4d\x18"),
                                        ("zip", b"PK\x03\x04"),
                                        ("7z", b"7z\xbc\xaf\x27\x1c")])
@pytest.mark.parametrize("runner", ["local", "inline"])
def test_a_log_of_a_kind_no_runner_reads_is_left_out_and_said_not_read_as_garbage(
        tmp_path, sample_db, kind, magic, runner):
    from ruleset_analysis.report.lines import unread
    packed = tmp_path / "fw01" / "06.log.packed"
    os.makedirs(packed.parent)
    packed.write_bytes(magic + bytes(random.Random(1).randrange(256) for _ in range(5000)))
    options = JobOptions(year="2014")
    lines = run_job([str(packed), SAMPLE_LOGS[1]], sample_db, runner, options)
    said = [line for line in lines if line.startswith('"input_error')]
    assert said == [encode(f"input_error\t{packed}", unread(str(packed), kind)).rstrip("\n")]
    assert f"holds {kind} data, which is not read" in said[0]
    assert [line for line in lines if line not in said] == \
        run_job([SAMPLE_LOGS[1]], sample_db, runner, options)


def tar_of(*members: tuple) -> bytes:
    """A tar archive of (name, bytes) members."""
    import tarfile
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w") as archive:
        for name, data in members:
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return packed.getvalue()


SAMPLE = open(SAMPLE_LOGS[0], "rb").read()


@pytest.mark.parametrize("kind, packed", [
    # logrotate compressing what was compressed already: lines of garbage, silently
    ("gzip in gzip", lambda: gzip.compress(gzip.compress(SAMPLE))),
    ("bzip2 in gzip", lambda: gzip.compress(bz2.compress(SAMPLE))),
    # a year of logs sent as one archive: its members' lines glued to headers, or garbage
    ("tar in gzip", lambda: gzip.compress(tar_of(("fw01/06.log", SAMPLE)))),
    ("tar", lambda: tar_of(("fw01/06.log.gz", gzip.compress(SAMPLE))))])
@pytest.mark.parametrize("runner", ["local", "inline"])
def test_a_log_that_decompresses_to_no_lines_is_left_out_and_said(tmp_path, sample_db, kind,
                                                                    packed, runner):
    from ruleset_analysis.report.lines import unread
    log = tmp_path / "fw01" / "06.log.gz"
    os.makedirs(log.parent)
    log.write_bytes(packed())
    options = JobOptions(year="2014")
    lines = run_job([str(log), SAMPLE_LOGS[1]], sample_db, runner, options)
    said = [line for line in lines if line.startswith('"input_error')]
    assert said == [encode(f"input_error\t{log}", unread(str(log), kind)).rstrip("\n")]
    assert [line for line in lines if line not in said] == \
        run_job([SAMPLE_LOGS[1]], sample_db, runner, options)


@pytest.mark.parametrize("head", [
    b"BZ-fw01 : %ASA-6-302013: Built ...\n",       # "BZ", not bzip2's "BZh"
    b"x" * 257 + b"ustar" + b"x" * 250])             # "ustar" where a tar has it, no tar
def test_a_plain_log_that_begins_as_an_archive_might_is_read_as_the_log_it_is(tmp_path, head):
    from ruleset_analysis.report.lines import compression
    log = tmp_path / "fw01.log"
    log.write_bytes(head + SAMPLE)
    assert compression(str(log)) == ("plain", "plain")


def test_a_zstd_log_without_the_zstd_extra_is_left_out_saying_how_to_read_it(
        tmp_path, sample_db, monkeypatch):
    from ruleset_analysis.report import lines as log_lines
    from ruleset_analysis.report.lines import ZSTD
    monkeypatch.delitem(log_lines.OPENERS, "zstd")          # Python < 3.14, no extra
    log = tmp_path / "fw01" / "06.log.zst"
    os.makedirs(log.parent)
    log.write_bytes(ZSTD.compress(open(SAMPLE_LOGS[0], "rb").read()))
    _, problems = run_local([str(log)], sample_db, JobOptions(year="2014"))
    assert problems == [(str(log), f"{log}: holds zstd data, which is read with Python 3.14 or "
                                   "the zstd extra (pip install 'ruleset-analysis[zstd]'), not "
                                   "here: not read")]


def test_the_local_runner_writes_nothing_to_a_temp_directory(tmp_path, sample_db,
                                                             monkeypatch):
    import tempfile

    def refused(*args, **kwargs):
        raise AssertionError("a temporary file or directory was created")
    log = tmp_path / "fw01.log.gz"
    with open(SAMPLE_LOGS[0], "rb") as source, gzip.open(log, "wb") as gz:
        shutil.copyfileobj(source, gz)
    for name in ("mkdtemp", "mkstemp", "NamedTemporaryFile", "TemporaryDirectory"):
        monkeypatch.setattr(tempfile, name, refused)
    lines = run_job([str(log), SAMPLE_LOGS[1]], sample_db, "local", JobOptions(year="2014"))
    assert any(line.startswith('"ace') for line in lines)


def test_an_overlong_line_is_one_malformed_line_in_whichever_range_it_begins(tmp_path,
                                                                              sample_db):
    head = open(SAMPLE_LOGS[0], "rb").readlines()[:2000]
    log = tmp_path / "fw01.log"
    log.write_bytes(b"".join(head[:1000]) + b"%ASA-6-302013: Built " + b"x" * (3 << 20) +
                    b"\n" + b"".join(head[1000:]))
    options = JobOptions(year="2014")
    counters = {}
    for split_bytes in (1 << 30, 100_000):          # whole, and ranges inside the long line
        lines, _ = run_local([str(log)], sample_db, options, workers=2,
                             split_bytes=split_bytes)
        counters[split_bytes] = [line for line in lines if line.startswith('"counter')]
    assert counters[1 << 30] == counters[100_000]
    assert '"counter\\tmalformed"\t1' in counters[100_000]


def test_an_overlong_line_is_one_malformed_line_in_whichever_share_it_begins(tmp_path,
                                                                              sample_db,
                                                                              small_shares):
    head = open(SAMPLE_LOGS[0], "rb").readlines()[:2000]
    log = tmp_path / "fw01.log.gz"          # 3 MB in one line: 768 blocks of 4 KB
    log.write_bytes(gzip.compress(b"".join(head[:1000]) + b"%ASA-6-302013: Built " +
                                  b"x" * (3 << 20) + b"\n" + b"".join(head[1000:])))
    options = JobOptions(year="2014")
    whole, _ = run_local([str(log)], sample_db, options, workers=1)
    lines, problems = run_local([str(log)], sample_db, options, workers=3)
    assert problems == [] and lines == whole and len(tasks_of([str(log)], workers=3)) == 3
    assert '"counter\\tmalformed"\t1' in lines


@pytest.mark.parametrize("shares", [False, True], ids=["whole", "in shares"])
def test_progress_counts_every_input_byte_and_line_on_the_terminal_it_is_given(tmp_path,
                                                                               sample_db,
                                                                               monkeypatch,
                                                                               shares):
    import io

    from ruleset_analysis import local_runner
    monkeypatch.setattr(local_runner, "PROGRESS_EVERY", 100)   # while reading, not only after
    if shares:
        monkeypatch.setattr(local_runner, "SHARE_MIN_BYTES", 1)
        monkeypatch.setattr(local_runner, "SHARE_BLOCK", 4096)
    log = tmp_path / "fw01.log.gz"
    with open(SAMPLE_LOGS[0], "rb") as source, gzip.open(log, "wb") as gz:
        shutil.copyfileobj(source, gz)
    shown = io.StringIO()
    options = JobOptions(year="2014")
    inputs = [str(log), SAMPLE_LOGS[1]]
    found = tasks_of(inputs, workers=4)
    assert any(task.shares > 1 for task in found) == shares
    lines, _ = run_local(inputs, sample_db, options, workers=4, progress=shown)
    assert lines == run_local(inputs, sample_db, options)[0]
    last = shown.getvalue().rstrip("\n").split("\r")[-1]
    total = os.path.getsize(log) + os.path.getsize(SAMPLE_LOGS[1])
    read = sum(1 for _ in gzip.open(log)) + sum(1 for _ in open(SAMPLE_LOGS[1], "rb"))
    assert last.startswith(f"map: {total / 1e6:,.1f} of {total / 1e6:,.1f} MB read (100%), "
                           f"{read:,} lines, ")
    assert shown.getvalue().endswith("\n")


def test_the_reduce_steps_time_follows_the_map_line_on_the_terminal(sample_db):
    # at a million rules the last merge takes seconds: not a silence after "100%"
    import io
    import re
    shown = io.StringIO()
    run_local(SAMPLE_LOGS, sample_db, JobOptions(year="2014"), workers=2, progress=shown)
    assert re.search(r"\rmap: [^\r\n]* \(100%\)[^\r\n]*\nreduce: \d+\.\d s\n\Z",
                     shown.getvalue())


def test_the_map_line_says_the_ruleset_is_loading_before_the_first_count(sample_db):
    # at a million rules, seconds after "preprocess: …" that said nothing
    import io
    shown = io.StringIO()
    run_local(SAMPLE_LOGS, sample_db, JobOptions(year="2014"), workers=2, progress=shown)
    assert shown.getvalue().startswith("map: loading the ruleset …\rmap: ")


def test_progress_shows_the_share_of_the_work_done_not_of_the_bytes(tmp_path, sample_db,
                                                                     monkeypatch):
    # an archive's bytes weigh more and it starts first: by bytes the time left would look
    # longer than it is
    import io

    from ruleset_analysis import local_runner
    from ruleset_analysis.local_runner import WORK_PER_BYTE, Progress
    shown = io.StringIO()
    Progress(shown, 10_000_000, 40_000_000).show(2_000_000, 1000, 20_000_000)
    assert "map: 2.0 of 10.0 MB read (50%), 1,000 lines, " in shown.getvalue()
    calls = []
    monkeypatch.setattr(Progress, "show", lambda self, *counts: calls.append(counts))
    monkeypatch.setattr(local_runner, "PROGRESS_SECONDS", 0.001)
    log = tmp_path / "fw01.log.gz"
    with open(SAMPLE_LOGS[0], "rb") as source, gzip.open(log, "wb") as gz:
        shutil.copyfileobj(source, gz)
    inputs = [str(log), SAMPLE_LOGS[1]]
    run_local(inputs, sample_db, JobOptions(year="2014"), workers=2, progress=io.StringIO())
    sizes = [os.path.getsize(path) for path in inputs]
    assert calls[-1][0] == sum(sizes)
    assert calls[-1][2] == sizes[0] * WORK_PER_BYTE["gzip"] + sizes[1] * WORK_PER_BYTE["plain"]


@pytest.mark.parametrize("progress", [False, True], ids=["quiet", "progress"])
def test_a_log_gone_after_the_job_planned_its_tasks_is_its_problem_line_not_a_crash(
        tmp_path, sample_db, monkeypatch, progress):
    # a rotation moving a log away while the job runs: the other logs' results stand
    import io

    from ruleset_analysis import local_runner
    log = tmp_path / "fw01.log"
    shutil.copy(SAMPLE_LOGS[0], log)
    real = local_runner._start_worker

    def start_then_gone(*args):
        real(*args)
        log.unlink(missing_ok=True)

    monkeypatch.setattr(local_runner, "_start_worker", start_then_gone)
    results, problems = run_local([str(log), SAMPLE_LOGS[1]], sample_db,
                                  JobOptions(year="2014"), workers=2,
                                  progress=io.StringIO() if progress else None)
    assert problems == [(str(log), f"{log}:1: cannot read further: {log}: cannot read log: "
                                   "No such file or directory")]
    monkeypatch.setattr(local_runner, "_start_worker", real)
    assert results == run_local([SAMPLE_LOGS[1]], sample_db, JobOptions(year="2014"))[0]


def test_a_pipe_given_to_the_job_is_said_not_read_and_never_opened(tmp_path, sample_db,
                                                                   deadline):
    # `zcat x.gz | … run /dev/stdin`: its kind looked at took its first kilobytes for ever, and
    # the job counted the rest as all (48 of 5,903 lines gone, silently); it would be read
    # once by one worker at best. Said, and not opened (no writer here: opening would wait)
    from ruleset_analysis.report.lines import lost_lines, unread
    pipe = tmp_path / "fw01" / "fw01.log"
    pipe.parent.mkdir()
    os.mkfifo(pipe)
    results, problems = run_local([str(pipe)], sample_db, JobOptions(year="2014"), workers=2)
    assert problems == [(str(pipe), unread(str(pipe), "stream"))]
    assert "save it to a file first" in problems[0][1] and lost_lines(problems[0][1])
    assert not any(line.startswith('"counter') for line in results)


@pytest.mark.parametrize("pack", [lambda data: data, gzip.compress, bz2.compress],
                         ids=["plain", "gzip", "bzip2"])
def test_parse_log_reads_a_pipe_whole_whatever_it_holds(tmp_path, pack, deadline):
    import threading

    from ruleset_analysis.report.lines import read_lines
    pipe = tmp_path / "fw01.log"
    os.mkfifo(pipe)
    data = open(SAMPLE_LOGS[0], "rb").read()

    def write():
        with open(pipe, "wb") as handle:
            handle.write(pack(data))
    writer = threading.Thread(target=write)
    writer.start()
    assert list(read_lines(str(pipe))) == list(read_lines(SAMPLE_LOGS[0]))
    writer.join()


@pytest.mark.parametrize("split_bytes", [1 << 30, 20_000], ids=["whole", "ranges"])
def test_a_log_cut_in_place_while_read_is_one_problem_line_not_a_silent_loss(
        tmp_path, sample_db, monkeypatch, split_bytes):
    # logrotate's copytruncate: the lines past the cut are lost to this run, and it says so
    from ruleset_analysis import local_runner
    log = tmp_path / "fw01.log"
    shutil.copy(SAMPLE_LOGS[0], log)
    assert os.path.getsize(log) > 3 * 20_000
    real = local_runner._start_worker

    def start_then_cut(*args):
        real(*args)
        if os.path.getsize(log) > 10_000:
            os.truncate(log, 10_000)

    monkeypatch.setattr(local_runner, "_start_worker", start_then_cut)
    _, problems = run_local([str(log)], sample_db, JobOptions(year="2014"), workers=1,
                            split_bytes=split_bytes)
    assert problems == [(str(log), f"{log}: 10,000 bytes when read, fewer than when the job "
                                   "began: rotated or cut while the job ran (logrotate?); "
                                   "lines it held then were not read")]


def test_no_progress_where_standard_error_is_not_a_terminal(sample_db):

    from ruleset_analysis.cli import main
    result = cli_runner().invoke(main, ["run", SAMPLE_LOGS[0], "--db", sample_db])
    assert result.exit_code == 0 and "map:" not in result.stderr


def test_a_default_the_memory_bounds_below_the_cpus_is_said_in_one_line(sample_db,
                                                                         monkeypatch, capsys):
    from ruleset_analysis import local_runner
    options = JobOptions(year="2014")
    alone = run_local(SAMPLE_LOGS, sample_db, options, workers=1)
    capsys.readouterr()
    monkeypatch.setattr(local_runner, "default_workers", lambda: (1, "1 worker, not 8 (...)"))
    assert run_local(SAMPLE_LOGS, sample_db, options) == alone
    assert capsys.readouterr().err == "note: 1 worker, not 8 (...)\n"


def test_no_word_of_the_memory_where_the_job_has_no_more_tasks_than_the_workers_it_runs(
        sample_db, monkeypatch, capsys):
    from ruleset_analysis import local_runner
    monkeypatch.setattr(local_runner, "default_workers", lambda: (1, "1 worker, not 8 (...)"))
    run_local(SAMPLE_LOGS[:1], sample_db, JobOptions(year="2014"))
    assert capsys.readouterr().err == ""


def merged(outputs: list, bound: int) -> list:
    """The job's results from map tasks' outputs, as run_local merges them."""
    from ruleset_analysis.local_runner import gather
    from ruleset_analysis.records import encode, reduce_values
    values: dict = {}
    for _, records, _ in outputs:
        for key, value in records:
            gather(values, key, value, bound)
    return sorted(encode(key, reduce_values(key, kept, bound, finish=True))
                  for key, kept in values.items())


def worker_tasks(sample_db: str, options: JobOptions, tasks: list) -> list:
    """The outputs of ``tasks`` run one after the other in one worker (this process), and
    last, as one more, the records the worker held at its end."""
    from ruleset_analysis import local_runner
    from ruleset_analysis.database import load_firewalls
    local_runner._FIREWALLS = load_firewalls(sample_db)
    with collector_paused():        # a worker's collector stays off: this is pytest's process
        local_runner._start_worker(None, options)
        outputs = [local_runner.map_task(task) for task in tasks]
        done, records = local_runner.end_worker()
    assert done == len(tasks)
    return outputs + [(None, records, None)]


def test_a_workers_records_leave_once_at_its_end_not_after_each_task(sample_db):
    # a task's end sent every ACE it met: over a thousand small archives, most of the time
    outputs = worker_tasks(sample_db, JobOptions(year="2014"), [Task(p) for p in SAMPLE_LOGS])
    assert [records for _, records, _ in outputs[:-1]] == [[], [], []]
    assert outputs[-1][1]


def test_a_workers_next_file_in_another_firewalls_directory_is_that_firewalls(
        tmp_path, sample_db):
    # the same lines, of a device id no firewall claims, under fw01/ then fw02/: the second
    # file's are fw02's, not those of the headers the first one cached
    text = open(SAMPLE_LOGS[0]).read().replace(" fw01 : ", " edge : ")
    paths = []
    for name in ("fw01", "fw02"):
        (tmp_path / name).mkdir()
        paths.append(tmp_path / name / "edge.log")
        paths[-1].write_text(text)
    options = JobOptions(year="2014")
    together = worker_tasks(sample_db, options, [Task(str(p)) for p in paths])
    apart = [output for p in paths for output in worker_tasks(sample_db, options,
                                                                [Task(str(p))])]
    results = merged(together, 100)
    assert results == merged(apart, 100)
    assert any(line.startswith('"coverage\\tfw02"') for line in results)


def test_workers_started_without_fork_give_the_same_results(sample_db, monkeypatch):
    # macOS and Windows start them anew: each loads the ruleset, takes its pipe as an
    # argument of its start
    import multiprocessing
    options = JobOptions(year="2014")
    alone = run_local(SAMPLE_LOGS, sample_db, options, workers=1)
    spawn = multiprocessing.get_context("spawn")
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setattr(multiprocessing, "get_context", lambda *_: spawn)
    assert run_local(SAMPLE_LOGS, sample_db, options, workers=2, split_bytes=100_000) == alone


def lose_the_worker_after_the_first_log(task):
    """map_task, after which the worker holding fw01's records is as a new one the pool
    started in place of one killed between its tasks."""
    from ruleset_analysis import local_runner as runner
    output = map_task(task)
    if task.path == SAMPLE_LOGS[0]:
        runner._start_worker(None, runner._OPTIONS, runner._READ, runner._PLAN)
    return output


@pytest.mark.parametrize("workers", [1, 2], ids=["this process", "two workers"])
def test_a_worker_lost_between_its_tasks_fails_the_job_rather_than_its_results(
        sample_db, monkeypatch, workers):
    from ruleset_analysis import local_runner
    from ruleset_analysis.runner import JobFailed
    monkeypatch.setattr(local_runner, "map_task", lose_the_worker_after_the_first_log)
    tasks = len(tasks_of(SAMPLE_LOGS, workers=workers))
    with pytest.raises(JobFailed, match=fr"lost a worker's records: \d of {tasks} tasks"):
        run_local(SAMPLE_LOGS, sample_db, JobOptions(year="2014"), workers=workers)


def killed_in_the_second_log(task):
    """map_task, but the worker that takes the second log is killed in it, as the
    out-of-memory killer kills."""
    import signal
    if task.path == SAMPLE_LOGS[1]:
        os.kill(os.getpid(), signal.SIGKILL)
    return map_task(task)


def killed_at_its_end():
    """end_worker, but a worker that ran a task is killed in it."""
    import signal

    from ruleset_analysis import local_runner
    if local_runner._TASKS_DONE:
        os.kill(os.getpid(), signal.SIGKILL)
    return end_worker()


def test_a_worker_killed_in_a_task_fails_the_job_naming_the_signal_not_waiting_forever(
        sample_db, monkeypatch, deadline):
    # the pool starts a worker in its place; the task it ran never returns
    from ruleset_analysis import local_runner
    from ruleset_analysis.runner import JobFailed
    monkeypatch.setattr(local_runner, "map_task", killed_in_the_second_log)
    with pytest.raises(JobFailed, match=r"lost what a worker held: a worker process was "
                                        r"killed by SIGKILL .* run the job again"):
        run_local(SAMPLE_LOGS, sample_db, JobOptions(year="2014"), workers=2)


def test_a_worker_killed_at_its_end_fails_the_job_not_waiting_forever(sample_db, monkeypatch,
                                                                      deadline):
    # after its last task: what it held is lost
    from ruleset_analysis import local_runner
    from ruleset_analysis.runner import JobFailed
    monkeypatch.setattr(local_runner, "end_worker", killed_at_its_end)
    with pytest.raises(JobFailed, match="killed by SIGKILL"):
        run_local(SAMPLE_LOGS, sample_db, JobOptions(year="2014"), workers=2)


JOB_OF_SLOW_WORKERS = """
import os, sys, time
from ruleset_analysis import local_runner
from ruleset_analysis.options import JobOptions
real = local_runner.map_task
def slow(task):
    open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()    # in a task
    time.sleep(float(sys.argv[2]))
    return real(task)
local_runner.map_task = slow
local_runner.run_local(sys.argv[4:], sys.argv[3], JobOptions(year="2014"), workers=2,
                       split_bytes=50_000)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads Linux's /proc")
@pytest.mark.parametrize("task_seconds", [0.5, 600], ids=["between tasks", "in a long task"])
def test_the_workers_end_when_the_job_is_killed(sample_db, tmp_path, task_seconds):
    # a forked worker held the job's end of its own pipe: it waited for its next batch
    # for ever; and it read its task to its end (minutes for a share of a large archive)
    marks = tmp_path / "in-task"
    marks.mkdir()
    assert workers_alive_after_kill(JOB_OF_SLOW_WORKERS, [str(task_seconds), sample_db]
                                    + SAMPLE_LOGS, marks) == []


def broken_in_the_second_log(task):
    if task.path == SAMPLE_LOGS[1]:
        raise ValueError("a bug")
    return map_task(task)


def test_an_error_in_a_worker_is_raised_by_the_job_with_where_it_was_raised(
        sample_db, monkeypatch, deadline):
    from ruleset_analysis import local_runner
    monkeypatch.setattr(local_runner, "map_task", broken_in_the_second_log)
    with pytest.raises(ValueError, match="a bug") as raised:
        run_local(SAMPLE_LOGS, sample_db, JobOptions(year="2014"), workers=2)
    assert "broken_in_the_second_log" in str(raised.value.__cause__)


def test_a_failed_jobs_error_starts_a_line_of_its_own_after_the_progress(sample_db,
                                                                         monkeypatch,
                                                                         deadline):
    import io

    from ruleset_analysis import local_runner
    from ruleset_analysis.runner import JobFailed
    monkeypatch.setattr(local_runner, "map_task", killed_in_the_second_log)
    shown = io.StringIO()
    with pytest.raises(JobFailed):
        run_local(SAMPLE_LOGS, sample_db, JobOptions(year="2014"), workers=2, progress=shown)
    assert shown.getvalue().endswith("\n")


def test_a_workers_later_tasks_reuse_its_first_tasks_indexes(sample_db, monkeypatch):
    from ruleset_analysis import local_runner
    from ruleset_analysis.matcher import FirewallMatcher
    built = []
    monkeypatch.setattr(FirewallMatcher, "__init__", lambda self, *a, _real=FirewallMatcher.
                        __init__: (built.append(1), _real(self, *a))[1])
    monkeypatch.setattr(local_runner, "_FIREWALLS", {})
    together = worker_tasks(sample_db, JobOptions(year="2014"), [Task(SAMPLE_LOGS[0])] * 2)
    assert len(built) == 2          # two firewalls, built once
    apart = worker_tasks(sample_db, JobOptions(year="2014"), [Task(SAMPLE_LOGS[0])]) * 2
    assert merged(together, 100) == merged(apart, 100)


def test_a_workers_later_tasks_list_only_below_the_thresholds_its_first_reached(
        sample_db, monkeypatch):
    # the job's results the same; else each task listed up to --max-connections of its ACEs'
    # connections anew, only for its combiner to drop most of them
    from ruleset_analysis import local_runner
    from ruleset_analysis.aggregate import LineAnalyzer
    monkeypatch.setattr(local_runner, "_FIREWALLS", {})
    listed = []
    real = LineAnalyzer.new_fact

    def new_fact(self, prefix, source, *rest):
        real(self, prefix, source, *rest)
        if (prefix, source) in self.facts:
            listed.append(1)
    monkeypatch.setattr(LineAnalyzer, "new_fact", new_fact)
    options = JobOptions(year="2014", max_connections=3)
    tasks = [Task(path) for path in SAMPLE_LOGS] * 2
    together = worker_tasks(sample_db, options, tasks)
    listed_together = len(listed)
    apart = [output for task in tasks for output in worker_tasks(sample_db, options, [task])]
    assert listed_together < 0.75 * (len(listed) - listed_together)
    assert merged(together, 3) == merged(apart, 3)
