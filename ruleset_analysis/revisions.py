"""Where a firewall's config revisions come from, each with the time it took effect.

- ``fw01.cfg@2014-03-01T12:00``: one file, the time given after the last ``@``;
- a directory of dated files (``fw01/2014-03-01T1200.cfg``, ``fw01-20140301.cfg``): every
  file, the time in its name (a file without one is refused);
- ``--git PATH`` (or ``REPO:PATH``): a file, or every file of a directory, of a git work tree
  as RANCID (``GROUP/configs/DEVICE``) and Oxidized (``[GROUP/]DEVICE``) keep them: every
  commit that changed it, at the commit's time as its committer's clock wrote it. The
  collector commits what it found when it ran, so a change took effect at most one collection
  interval before its commit; lines of that interval are matched against the revision before.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import partial
from typing import Callable, List, Optional, Tuple

from .asa.config import ConfigError, read_device_text

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"            # as log lines' timestamps are compared
# Characters a config may have: a config of a million ACE lines with no group is ~100 MB.
# Past this it is something else (a log given as a config, /dev/zero), read whole till the
# memory ran out.
CONFIG_LIMIT = 256 << 20


@dataclass(frozen=True)
class ConfigRevision:
    """A config as it was from ``since`` on; ``source`` names it in messages. Its text is read
    when asked for: a year of daily revisions of a large config is hundreds of MB of text,
    each wanted only while it is parsed."""
    since: Optional[str]                     # None: an undated config (the only revision)
    source: str
    read: Callable[[], str]
    group: str = ""                          # revisions of one device share it (a path)
    size: Optional[int] = None               # its bytes, where known without reading it

    @property
    def text(self) -> str:
        return self.read()


def parse_time(value: str) -> Optional[str]:
    """YYYY-MM-DD[THH:MM[:SS]] (also with a space, or HHMM) -> "YYYY-MM-DD HH:MM:SS"."""
    from .asa.captures import time_in_name
    found = time_in_name(value.strip())
    return found.replace("T", " ") if found else None


def split_spec(spec: str) -> Tuple[str, Optional[str]]:
    """``PATH@TIME`` -> (PATH, time); a path that exists, or has no ``@``, is undated."""
    if "@" not in spec or os.path.exists(spec):
        return spec, None
    path, _, when = spec.rpartition("@")
    since = parse_time(when)
    if since is None or not path:
        raise ConfigError(f"{spec}: '{when}' after '@' is not a time (YYYY-MM-DDTHH:MM)")
    return path, since


def read_text(path: str) -> str:
    """A config file's text; ConfigError (one line) when it cannot be read."""
    return read_device_text(path, CONFIG_LIMIT, ConfigError, "cannot read config", "a config")


def from_spec(spec: str) -> List[ConfigRevision]:
    """The revisions a config argument names: a file, ``FILE@TIME``, or a directory."""
    path, since = split_spec(spec)
    if since is None and os.path.isdir(path):
        return from_directory(path)
    return [ConfigRevision(since, path if since is None else f"{path}@{since}",
                           partial(read_text, path), size=_size(path))]


def _size(path: str) -> Optional[int]:
    try:
        return os.path.getsize(path)
    except OSError:             # said when it is read
        return None


def from_directory(path: str) -> List[ConfigRevision]:
    from .asa.captures import time_in_name
    names = sorted(n for n in os.listdir(path) if not n.startswith(".")
                   and os.path.isfile(os.path.join(path, n)))
    if not names:
        raise ConfigError(f"{path}: no config files in the directory")
    found = []
    for name in names:
        full = os.path.join(path, name)
        when = time_in_name(name)
        if when is None:
            raise ConfigError(f"{full}: no time in the file name (a directory holds dated "
                              "revisions of one firewall: 2014-03-01T1200.cfg)")
        found.append(ConfigRevision(when.replace("T", " "), full, partial(read_text, full),
                                    group=path, size=_size(full)))
    return found


def _git(directory: str, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", directory, *args], capture_output=True,
                              check=False)
    except OSError as exc:
        raise ConfigError(f"--git {directory}: cannot run git: {exc.strerror}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigError(f"--git {directory}: {message[-1] if message else 'git failed'}")
    return done.stdout.decode("utf-8", "replace")


def from_git(spec: str) -> List[ConfigRevision]:
    """Every revision of the config file(s) at ``PATH`` (or ``REPO:PATH``) in git."""
    path = spec
    if not os.path.exists(spec) and ":" in spec:
        repo, _, inner = spec.rpartition(":")
        path = os.path.join(repo, inner)
    if not os.path.exists(path):
        raise ConfigError(f"--git {spec}: no such file or directory")
    directory = path if os.path.isdir(path) else os.path.dirname(path) or "."
    root = _git(directory, "rev-parse", "--show-toplevel").strip()
    relative = os.path.relpath(os.path.realpath(path), os.path.realpath(root))
    prefix = "" if relative == "." else relative
    files = [f for f in _git(root, "ls-tree", "-r", "--name-only", "HEAD", "--",
                             prefix or ".").splitlines() if f]
    if not files:
        raise ConfigError(f"--git {spec}: no file committed there")
    found = []
    for name in files:
        log = _git(root, "log", "--format=%H %cd", f"--date=format:{TIME_FORMAT}",
                   "--", name)
        for entry in log.splitlines():
            commit, _, when = entry.partition(" ")
            if not when:
                continue
            found.append(ConfigRevision(when, f"{os.path.join(root, name)}@{commit[:12]}",
                                        partial(_git, root, "show", f"{commit}:{name}"),
                                        group=os.path.join(root, name)))
    return found

