"""Shared helpers: configs and log lines are written in the exact form devices print them."""
from __future__ import annotations

import os
import signal
import textwrap

import pytest

from ruleset_analysis.asa.config import parse_config
from ruleset_analysis.expand import expand_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_CONFIGS = [os.path.join(ROOT, "sample_configs", n) for n in ("fw01.cfg", "fw02.cfg")]
# An ASA 9 with an outside and a dmz interface: the start of many test configs.
OUTSIDE_DMZ = """\
ASA Version 9.8(4)
interface Gi0/0
 nameif outside
 security-level 0
 ip address 203.0.113.2 255.255.255.0
interface Gi0/1
 nameif dmz
 security-level 50
 ip address 172.16.1.1 255.255.255.0
"""
SAMPLE_LOGS = [os.path.join(ROOT, "sample_logs", fw, f"{fw}-2014-06.log")
               for fw in ("fw01", "fw02", "fw99")]


def firewall(config: str, name: str = "fw01"):
    """Parse and expand a config snippet; a hostname line is added when it has none."""
    text = textwrap.dedent(config)
    if "hostname" not in text:
        text = f"hostname {name}\n" + text
    return expand_config(parse_config(text, "test.cfg"))


def built(direction: str, proto: str, for_side: str, to_side: str, host: str = "fw01",
          when: str = "Jun 06 2014 14:47:35") -> str:
    """A 302013/302015 line. Sides are 'IF:REAL/PORT' or 'IF:REAL/PORT (MAPPED/PORT)'."""
    def side(text):
        return text if "(" in text else f"{text} ({text.split(':', 1)[1]})"
    msg = "302013" if proto == "TCP" else "302015"
    return (f"{when} {host} : %ASA-6-{msg}: Built {direction} {proto} connection 42 for "
            f"{side(for_side)} to {side(to_side)}")


def free_ports(count):
    """Ports free on 127.0.0.1 now, for servers a test starts."""
    import socket
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def signals_at_their_defaults() -> None:
    """A subprocess's preexec_fn: the signals that end a command (Ctrl-C, SIGTERM, a hangup)
    at their defaults, as a terminal starts a command. Tests run in the background, or under
    nohup, inherit some of them ignored, and a process started so keeps them ignored (bash
    cannot even trap them)."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


def process_ended(pid: int) -> bool:
    """Whether process ``pid`` has ended (gone, or a zombie its new parent has not reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def workers_alive_after_kill(script: str, args: list, marks, workers: int = 2) -> list:
    """Run ``script`` (python -c, with ``marks`` and ``args`` as its arguments) till
    ``workers`` of its worker processes are at work — each leaves a file named by its pid in
    ``marks`` — then kill it as the out-of-memory killer does: -> the workers still alive 30 s
    later (then killed)."""
    import subprocess
    import sys
    import time
    command = subprocess.Popen([sys.executable, "-c", script, str(marks), *args])
    started: list = []
    try:
        deadline = time.monotonic() + 60
        while len(started) < workers and time.monotonic() < deadline:
            time.sleep(0.05)
            started = [int(pid) for pid in os.listdir(marks)]
        assert len(started) == workers, "the workers did not start"
        command.send_signal(signal.SIGKILL)
        command.wait()
        deadline = time.monotonic() + 30
        while not all(map(process_ended, started)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return [pid for pid in started if not process_ended(pid)]
    finally:
        command.kill()
        command.wait()
        for pid in started:
            if not process_ended(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def sample_db(tmp_path):
    from ruleset_analysis.database import save_firewalls
    from ruleset_analysis.preprocess import read_config
    path = str(tmp_path / "accesslists.db")
    save_firewalls(path, [read_config(p) for p in SAMPLE_CONFIGS])
    return path


class _BothStreams:
    """A click 8.1 result run with standard error apart, whose ``output`` is both streams
    (stdout, then stderr), as click 8.2's is."""

    def __init__(self, result):
        self._result = result

    def __getattr__(self, name):
        return getattr(self._result, name)

    @property
    def output(self):
        return self._result.stdout + self._result.stderr


class _Runner:
    def __init__(self, runner):
        self.runner = runner

    def invoke(self, *args, **kwargs):
        return _BothStreams(self.runner.invoke(*args, **kwargs))


def cli_runner():
    """A click test runner as click 8.2 has it on every click the package allows:
    ``result.stdout`` and ``result.stderr`` apart, ``result.output`` both. Click 8.1 (the last
    for Python 3.9) mixes the streams unless told not to."""
    from click.testing import CliRunner
    try:
        return _Runner(CliRunner(mix_stderr=False))
    except TypeError:                    # click >= 8.2: no such argument, already so
        return CliRunner()


@pytest.fixture
def deadline():
    """Fail instead of hanging: a test that would wait for ever fails after a minute."""
    def expired(*_):
        raise TimeoutError("took over a minute: a hang?")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
