"""Configs read by worker processes: preprocess reads the revisions of a history (and the
configs of several firewalls) in processes of their own while it builds the histories of
those before. What it stores is what reading them one at a time in its own process stores,
whatever becomes of a worker, and no worker outlives the command."""
import concurrent.futures
import multiprocessing
import os
import signal
import sqlite3
import time

import pytest
from conftest import cli_runner, workers_alive_after_kill
from test_history import SSH, WEB, WIDE, config, write

from ruleset_analysis import machine, preprocess
from ruleset_analysis.asa.config import ConfigError
from ruleset_analysis.cli import main
from ruleset_analysis.database import save_firewalls
from ruleset_analysis.preprocess import read_firewalls

UNDEFINED = "access-list outside_in extended permit tcp any object-group NOPE eq ssh"


def configs(tmp_path, days=8):
    """A history of fw01 whose ACEs change every day (every fourth one with an ACE that
    cannot be expanded: a warning), and an undated fw02."""
    for day in range(1, days + 1):
        aces = [WEB] + [SSH] * (day % 2) + [WIDE + f" eq {1000 + day % 3}"] + \
            [UNDEFINED] * (day % 4 == 0)
        write(str(tmp_path / "fw01" / f"2014-06-{day:02d}T0000.cfg"),
              "hostname fw01\n" + config(*aces))
    write(str(tmp_path / "fw02.cfg"), "hostname fw02\n" + config(SSH))
    return [str(tmp_path / "fw01"), str(tmp_path / "fw02.cfg")]


def stored(path, firewalls, older):
    """What the database holds of them, key by key."""
    save_firewalls(str(path), firewalls, older)
    with sqlite3.connect(str(path)) as connection:
        return dict(connection.execute("SELECT key, value FROM ruleset_analysis"))


def stored_both_ways(tmp_path):
    """What reading configs() stores with 2 workers and read here, and the notes said."""
    given, notes = configs(tmp_path), []
    apart = stored(tmp_path / "apart.db",
                   *read_firewalls(given, workers=2, note=notes.append))
    return apart, stored(tmp_path / "here.db", *read_firewalls(given, workers=0)), notes


def test_configs_read_by_worker_processes_are_stored_as_those_read_here(tmp_path,
                                                                       monkeypatch):
    given = configs(tmp_path)
    here = stored(tmp_path / "here.db", *read_firewalls(given, workers=0))
    readers = []
    read = preprocess.read_config_text

    def read_by(*args):
        firewall = read(*args)
        readers.append(os.getpid())          # (the worker's copy: sent back with its result)
        firewall.warnings.append(f"read by {os.getpid()}")
        return firewall

    monkeypatch.setattr(preprocess, "read_config_text", read_by)
    firewalls, older = read_firewalls(given, workers=3)
    assert not readers                       # none read here
    by = {w for f in firewalls for w in f.warnings if w.startswith("read by ")}
    assert by and f"read by {os.getpid()}" not in by
    monkeypatch.setattr(preprocess, "read_config_text", read)
    firewalls, older = read_firewalls(given, workers=3)
    assert any("NOPE" in w for w in firewalls[1].warnings)
    assert stored(tmp_path / "apart.db", firewalls, older) == here


def test_a_config_a_worker_cannot_read_is_refused_as_one_read_here_is(tmp_path):
    given = configs(tmp_path)
    write(str(tmp_path / "fw01" / "2014-06-05T0000.cfg"), config(SSH))      # no hostname
    with pytest.raises(ConfigError) as here:
        read_firewalls(given, workers=0)
    with pytest.raises(ConfigError) as apart:
        read_firewalls(given, workers=2)
    assert str(apart.value) == str(here.value)
    assert "2014-06-05T0000.cfg: no 'hostname' line" in str(apart.value)
    assert not multiprocessing.active_children()


def test_a_worker_killed_while_reading_leaves_the_rest_to_this_process_which_says_so(
        tmp_path, monkeypatch):
    parent, read = os.getpid(), preprocess.read_config_text

    def killed_in_a_worker(text, path, *args):
        if os.getpid() != parent and path.endswith("2014-06-04T0000.cfg"):
            os.kill(os.getpid(), signal.SIGKILL)        # as the out-of-memory killer does
        return read(text, path, *args)

    monkeypatch.setattr(preprocess, "read_config_text", killed_in_a_worker)
    apart, here, notes = stored_both_ways(tmp_path)
    assert apart == here
    assert notes == ["a process reading the configs ended unexpectedly (the out-of-memory "
                     "killer?): the rest are read here, one at a time"]
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("where, name, error, rest", [
    # POSIX semaphores missing (a container without /dev/shm): no pool at all
    (concurrent.futures, "ProcessPoolExecutor", OSError(38, "Function not implemented"),
     "they are"),
    # a limit on processes (RLIMIT_NPROC, a container's pids.max): refused at its first task
    (os, "fork", BlockingIOError(11, "Resource temporarily unavailable"), "the rest are")])
def test_where_no_process_can_start_the_configs_are_read_here_which_says_so(
        tmp_path, monkeypatch, where, name, error, rest):
    def refused(*args, **kwargs):
        raise error

    monkeypatch.setattr(where, name, refused)
    apart, here, notes = stored_both_ways(tmp_path)
    assert apart == here
    assert notes == [f"no process can be started to read the configs ({error}): {rest} read "
                     "here, one at a time"]
    assert not multiprocessing.active_children()


def test_an_error_while_workers_read_stops_them_at_once(tmp_path, monkeypatch):
    # two revisions of fw01 at the same time: refused when the second is read here, while
    # a worker reads the next one (which would take a minute)
    given = []
    for day in range(1, 6):
        write(str(tmp_path / f"r{day}.cfg"), "hostname fw01\n" + config(WEB))
        given.append(f"{tmp_path / f'r{day}.cfg'}@2014-06-{max(day, 2):02d}")
    parent, read = os.getpid(), preprocess.read_config_text

    def slow_in_a_worker(text, path, *args):
        if os.getpid() != parent and not path.startswith((given[0], given[1])):
            time.sleep(60)
        return read(text, path, *args)

    monkeypatch.setattr(preprocess, "read_config_text", slow_in_a_worker)
    started = time.monotonic()
    with pytest.raises(ConfigError, match="took effect at the same time"):
        read_firewalls(given, workers=2)
    assert time.monotonic() - started < 30
    assert not multiprocessing.active_children()


READ_BY_SLOW_WORKERS = """
import os, sys, time
from ruleset_analysis import preprocess
def slow(text, path, *args):
    open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()      # reading
    time.sleep(600)
preprocess.read_config_text = slow
preprocess.read_firewalls(sys.argv[2:], workers=2)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads Linux's /proc")
def test_the_workers_end_when_the_command_reading_the_configs_is_killed(tmp_path):
    # killed at once (the out-of-memory killer, kill -9), the command cannot end them: they
    # waited for their next config for ever, each holding its memory
    marks = tmp_path / "reading"
    marks.mkdir()
    assert workers_alive_after_kill(READ_BY_SLOW_WORKERS, configs(tmp_path), marks) == []


def no_fork():
    raise AssertionError("a process was started")


def test_one_config_is_read_here_with_no_process_started(tmp_path, monkeypatch):
    given = configs(tmp_path)[1:]
    monkeypatch.setattr(os, "fork", no_fork)
    [firewall], _ = read_firewalls(given)
    assert firewall.name == "fw02"


def test_configs_too_small_to_pay_for_a_process_are_read_here(tmp_path, monkeypatch):
    given = configs(tmp_path)                   # 9 configs, a few KB
    monkeypatch.setattr(os, "fork", no_fork)
    assert len(read_firewalls(given)[0]) == 2
    monkeypatch.setattr(preprocess, "SMALL_CONFIGS", 1000)
    with pytest.raises(AssertionError, match="a process was started"):
        read_firewalls(given)


@pytest.mark.parametrize("given, readers", [([], 4), (["-j", "3"], 2), (["-j", "1"], 0)])
def test_analyze_reads_configs_in_no_more_processes_than_its_workers(tmp_path, monkeypatch,
                                                                       given, readers):
    # -j N: N processes work, this one (building the histories) and N - 1 reading
    monkeypatch.setattr(machine, "_affinity", lambda: 4)
    monkeypatch.setattr(machine, "available_memory", lambda root="/": None)
    monkeypatch.setattr(preprocess, "SMALL_CONFIGS", 0)
    started = []

    class Pool(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, workers, **kwargs):
            started.append(workers)
            super().__init__(workers, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Pool)
    log = tmp_path / "empty.log"
    log.write_text("")
    fw01, fw02 = configs(tmp_path)
    result = cli_runner().invoke(main, ["analyze", "-c", fw01, "-c", fw02, str(log)] + given)
    assert result.exit_code == 0, result.output
    assert started == ([readers] if readers else [])
