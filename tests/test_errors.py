"""What users see when something goes wrong: one line, and a documented exit status."""
import os
import signal
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLE_CONFIGS, SAMPLE_LOGS, cli_runner, signals_at_their_defaults

from ruleset_analysis.cli import main


def invoke(*args):
    return cli_runner().invoke(main, [str(a) for a in args])


def test_usage_errors_exit_1_with_one_error_line():
    result = invoke("run")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: Missing argument 'LOGS...'. (see 'main run --help')"]


def test_an_unknown_option_is_a_usage_error():
    assert invoke("report", "--colour", "x").exit_code == 1


def test_help_and_version_exit_0():
    assert invoke("--help").exit_code == 0
    assert invoke("--version").exit_code == 0


def test_an_internal_error_exits_2_in_one_line_and_verbose_shows_the_traceback(monkeypatch,
                                                                              sample_db):
    def boom(*args, **kwargs):
        raise KeyError("bug")
    monkeypatch.setattr("ruleset_analysis.report.ruleset.render_ruleset", boom)
    quiet = invoke("show", "--db", sample_db)
    assert quiet.exit_code == 2
    assert quiet.output.strip().splitlines() == [
        "Internal error: KeyError: 'bug' (run with --verbose for the traceback, and please "
        "report it)"]
    loud = invoke("--verbose", "show", "--db", sample_db)
    assert loud.exit_code == 2 and "Traceback" in loud.output


def test_input_errors_name_the_file(tmp_path):
    config = tmp_path / "ios.cfg"
    config.write_text("hostname r1\nip access-list extended a\n")
    result = invoke("preprocess", config, "--db", tmp_path / "db")
    assert result.exit_code == 1
    assert result.output.strip() == (f"Error: {config}:2: not an ASA/FWSM config ('ip "
                                     "access-list' is IOS syntax)")


def test_an_interrupted_results_or_report_write_leaves_the_previous_file_whole(tmp_path,
                                                                              monkeypatch):
    import os

    from ruleset_analysis import cli
    target = tmp_path / "report.txt"
    target.write_text("the previous report\n")
    real_fdopen = os.fdopen

    class Interrupted:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def close(self):
            self.handle.close()

        def write(self, text):
            self.handle.write(text[:len(text) // 2])
            self.handle.flush()
            raise KeyboardInterrupt
    monkeypatch.setattr(cli.os, "fdopen", lambda *a, **k: Interrupted(real_fdopen(*a, **k)))
    try:
        cli.write_output(str(target), "a new report that is long enough to be cut\n" * 100)
    except KeyboardInterrupt:
        pass
    assert target.read_text() == "the previous report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


def test_a_report_whose_making_breaks_between_its_pieces_leaves_the_previous_file_whole(
        tmp_path):
    from ruleset_analysis import cli
    target = tmp_path / "report.json"
    target.write_text("the previous report\n")

    def pieces():
        yield "{\n"
        raise KeyboardInterrupt

    try:
        cli.write_pieces(str(target), pieces())
    except KeyboardInterrupt:
        pass
    assert target.read_text() == "the previous report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


class FullDisk:
    """A file handle on a disk with room for ``room`` characters."""

    def __init__(self, handle, room):
        self.handle, self.room = handle, room

    def write(self, text):
        import errno
        import os
        if len(text) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(text)
        return self.handle.write(text)

    def close(self):
        self.handle.close()


def test_a_report_the_disk_cannot_hold_is_one_line_naming_it_and_the_previous_one_stays(
        tmp_path, monkeypatch):
    import os

    from ruleset_analysis import cli
    from ruleset_analysis.asa.config import ConfigError
    target = tmp_path / "report.txt"
    target.write_text("the previous report\n")
    real_fdopen = os.fdopen
    monkeypatch.setattr(cli.os, "fdopen", lambda *a, **k: FullDisk(real_fdopen(*a, **k), 50))
    with pytest.raises(ConfigError) as raised:
        cli.write_pieces(str(target), ("a new report\n" for _ in range(10)))
    assert str(raised.value) == f"{target}: cannot write: No space left on device"
    assert target.read_text() == "the previous report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


def test_an_os_error_of_a_reports_making_is_not_called_the_report_file_s(tmp_path):
    from ruleset_analysis import cli

    def pieces():
        yield "{\n"
        raise FileNotFoundError(2, "No such file or directory", "captures.txt")
    with pytest.raises(FileNotFoundError):
        cli.write_pieces(str(tmp_path / "report.json"), pieces())
    assert list(tmp_path.iterdir()) == []

def files_of_at_most(size: int):
    """A child process's start that makes a disk full past ``size`` bytes of any file."""
    def limited():
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # (else it kills the process)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limited


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="a POSIX file size limit")
def test_a_database_the_disk_cannot_hold_is_one_error_line_not_a_wait_for_ever(tmp_path):
    # A full disk, as a file size limit makes one: sqlitedict's thread died where its commit
    # failed, and preprocess (analyze too) waited for ever.
    db = tmp_path / "fw.db"
    result = subprocess.run([sys.executable, "-m", "ruleset_analysis.cli", "preprocess",
                             SAMPLE_CONFIGS[0], "--db", str(db)],
                            preexec_fn=files_of_at_most(16384), capture_output=True,
                            text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 1
    # (sqlite says "disk I/O error" of a write past the limit, "database or disk is full" of
    # a full disk)
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: {db}: cannot write database: ")
    assert [p.name for p in tmp_path.iterdir()] == ["fw.db.lock"]     # no copy left behind


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="a POSIX file size limit")
def test_an_mrjob_run_here_its_temp_disk_cannot_hold_fails_in_one_line_leaving_nothing(
        tmp_path, sample_db):
    # mrjob's inline runner copies every input to its temp directory: full, it said only
    # "[Errno 28] No space left on device", and kept the directory (as after any failure)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = subprocess.run([sys.executable, "-m", "ruleset_analysis.cli", "run", "-r", "inline",
                             "--db", sample_db, "-o", str(tmp_path / "results"), "--year",
                             "2014", SAMPLE_LOGS[0]], preexec_fn=files_of_at_most(65536),
                            env=dict(os.environ, TMPDIR=str(scratch)), capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line == ("Error: the job failed: File too large, writing the job's temporary files "
                    f"in {scratch} (TMPDIR)")
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("name, status, said", [
    # a scheduler's stop or timeout, kill
    ("SIGTERM", 143, "Terminated."),
    # the terminal gone (an ssh session dropped): the command's process group hung up
    pytest.param("SIGHUP", 129, "Hangup.", marks=pytest.mark.skipif(
        not hasattr(signal, "SIGHUP"), reason="a POSIX signal"))])
def test_a_signal_that_ends_a_command_ends_it_as_ctrl_c_does_removing_what_it_made(
        tmp_path, monkeypatch, name, status, said):
    # Python ended at once: analyze left its database (45 MB at a million rules) in the
    # temp directory
    import time

    from ruleset_analysis import cli
    signum, made = getattr(signal, name), []

    def run_job(logs, db, *args, **kwargs):
        made.append(db)
        os.kill(os.getpid(), signum)
        time.sleep(10)                  # (the handler raises in it)
        raise AssertionError(f"{name} did not end the command")
    monkeypatch.setattr(cli, "run_job", run_job)
    before = signal.signal(signum, signal.SIG_DFL)  # (not as nohup, or a background job, left it)
    try:
        result = invoke("analyze", "-c", SAMPLE_CONFIGS[0], SAMPLE_LOGS[0], "-o",
                        tmp_path / "report.txt")
        assert signal.getsignal(signum) is signal.SIG_DFL   # the command's handler is gone
    finally:
        signal.signal(signum, before)
    assert (result.exit_code, result.stderr.splitlines()[-1]) == (status, said)
    assert os.path.exists(os.path.dirname(made[0])) is False
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="a POSIX signal")
def test_a_command_started_with_hangups_ignored_runs_on_after_one(tmp_path, monkeypatch):
    # nohup: the command is to outlive its terminal
    from ruleset_analysis import cli
    real = cli.run_job

    def run_job(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGHUP)
        return real(*args, **kwargs)
    monkeypatch.setattr(cli, "run_job", run_job)
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        result = invoke("analyze", "-c", SAMPLE_CONFIGS[0], "--year", "2014", SAMPLE_LOGS[0],
                        "-o", tmp_path / "report.txt")
    finally:
        signal.signal(signal.SIGHUP, before)
    assert result.exit_code == 0, result.output
    assert os.listdir(tmp_path) == ["report.txt"]


HANGUP_IN_THE_MAP_STEP = """
import os, sys, time
from ruleset_analysis import cli, local_runner
real = local_runner.map_task
def slow(task):
    open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()    # in a task
    time.sleep(600)
local_runner.map_task = slow
cli.main(sys.argv[2:])
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads Linux's /proc")
def test_a_hangup_in_the_map_step_ends_the_workers_and_removes_what_analyze_made(tmp_path):
    # the whole process group hangs up: the workers leave it to the command, which ends them
    import time

    from conftest import process_ended
    marks, scratch = tmp_path / "in-task", tmp_path / "tmp"
    marks.mkdir()
    scratch.mkdir()
    command = subprocess.Popen(
        [sys.executable, "-c", HANGUP_IN_THE_MAP_STEP, str(marks), "analyze", "-j", "2", "-c",
         SAMPLE_CONFIGS[0], "-c", SAMPLE_CONFIGS[1], "-o", str(tmp_path / "report.txt"),
         *SAMPLE_LOGS], env=dict(os.environ, TMPDIR=str(scratch)), start_new_session=True,
        stderr=subprocess.PIPE, text=True, preexec_fn=signals_at_their_defaults)
    workers: list = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            workers = [int(pid) for pid in os.listdir(marks)]
        os.killpg(command.pid, signal.SIGHUP)
        _, errors = command.communicate(timeout=60)
    finally:
        command.kill()
        command.wait()
    assert (command.returncode, errors.splitlines()[-1]) == (129, "Hangup.")
    assert len(workers) == 2 and all(map(process_ended, workers))
    assert os.listdir(scratch) == []
    assert sorted(os.listdir(tmp_path)) == ["in-task", "tmp"]


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="a POSIX file size limit")
@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["PYTHONUNBUFFERED", "buffered"])
def test_a_report_on_standard_output_the_disk_cannot_hold_is_one_error_line(tmp_path,
                                                                            unbuffered):
    # With PYTHONUNBUFFERED (container images set it) Python's text layer wrote to the raw
    # file and ignored its short write: the report was cut at the disk's end, status 0.
    with open(tmp_path / "report.txt", "w") as report:
        result = subprocess.run([sys.executable, "-m", "ruleset_analysis.cli", "analyze", "-c",
                                 SAMPLE_CONFIGS[0], "--year", "2014", SAMPLE_LOGS[0]],
                                preexec_fn=files_of_at_most(40960), stdout=report,
                                stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT,
                                env=dict(os.environ, PYTHONUNBUFFERED=unbuffered))
    # (the database, 28 KB, fits; the report, 62 KB, does not)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == \
        "Error: standard output: cannot write: File too large"
    assert (tmp_path / "report.txt").stat().st_size == 40960


def test_a_reader_that_goes_away_is_not_an_error(tmp_path):
    # `parse-log … | head`: click (8.2 on) took the broken pipe for a failure, status 1
    reading = subprocess.Popen([sys.executable, "-m", "ruleset_analysis.cli", "parse-log",
                                SAMPLE_LOGS[0]], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=ROOT)
    assert reading.stdout.readline().startswith(b'{"file": ')
    reading.stdout.close()
    assert (reading.wait(timeout=120), reading.stderr.read()) == (0, b"")


def test_a_report_to_a_closed_standard_output_is_one_error_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ruleset_analysis.cli", "analyze", "-c",
                             SAMPLE_CONFIGS[0], "--year", "2014", SAMPLE_LOGS[0]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            timeout=120, cwd=ROOT, close_fds=True,
                            preexec_fn=lambda: os.close(1))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "Error: standard output is closed: give -o FILE"
