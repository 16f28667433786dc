"""What this machine lets the local runner (and preprocess's readers) use: the CPUs this process
may run on and the memory it may still take, a container's limits (Linux cgroups, v2 or v1)
included.

A container on a large host sees all the host's CPUs (os.cpu_count) and its memory
(/proc/meminfo); its limits are in its cgroups. A worker per CPU seen there starts dozens of
mappers, each with its index and facts, where two CPUs' time and a few GB are granted: the
kernel throttles them, then kills one (the job fails, saying so).

And what ends them with their process: a process killed at once (the out-of-memory killer,
kill -9) cannot end the workers it started, which went on without it.
"""
from __future__ import annotations

import math
import os
import signal
import sys
from typing import Iterator, List, Optional, Tuple

# What one worker may hold: its mapper grows its facts only while it is within
# aggregate.MEMORY_BUDGET (256 MB) and its index is smaller below ~1.2M rules (a worker of
# `run -r local` peaked at 290 MB there on all-distinct traffic, 100 MB at 120,000 rules),
# with a margin. The job's own process (the workers' records merged) counts as one more.
WORKER_BYTES = 320 << 20
UNLIMITED = 1 << 62         # cgroup v1 writes "no limit" as a number near 2**63
PR_SET_PDEATHSIG = 1        # linux/prctl.h


def usable_cpus(root: str = "/") -> int:
    """The CPUs this process may use: those it may run on (its affinity: taskset, a
    container's cpuset), at most its cgroups' CPU quota (a container's --cpus), rounded up."""
    cpus = _affinity()
    for quota in _cpu_quotas(root):
        cpus = min(cpus, max(1, math.ceil(quota)))
    return cpus


def available_memory(root: str = "/") -> Optional[int]:
    """The bytes this process may still take: the system's available memory, at most what
    each of its cgroups' memory limits leaves (the limit less its usage, less the page cache
    the kernel reclaims first: inactive_file; logs read fill it). None where none is known."""
    known = [n for n in [_meminfo_available(root)] + list(_cgroup_room(root)) if n is not None]
    return max(0, min(known)) if known else None


def default_workers(root: str = "/") -> Tuple[int, Optional[str]]:
    """(the local runner's worker processes: one per usable CPU, as many as the available
    memory holds; why fewer than the CPUs, where the memory bounds them)."""
    cpus = usable_cpus(root)
    room = available_memory(root)
    if room is None:
        return cpus, None
    held = max(1, room // WORKER_BYTES - 1)
    if held >= cpus:
        return cpus, None
    return held, (f"{held} worker{'s' if held > 1 else ''}, not {cpus} (one per CPU): "
                  f"{room / 2**30:.1f} GB of memory is available, {WORKER_BYTES >> 20} MB "
                  "for each beside the job's own process; -j/--workers N to choose")


def reading_workers(configs: int, root: str = "/") -> int:
    """Processes to read and expand ``configs`` configs while this one builds their histories
    (preprocess): one per usable CPU, no more than the configs, as many as the available
    memory holds at twice WORKER_BYTES each (a worker's config, and its result received here:
    200 MB and 20 MB pickled at 1.2M rules); 0 (read here, one at a time) where one config or
    one CPU leaves nothing to do beside it."""
    cpus = usable_cpus(root)
    if configs < 2 or cpus < 2:
        return 0
    room = available_memory(root)
    held = cpus if room is None else room // (2 * WORKER_BYTES) - 1
    return max(0, min(cpus, configs, held))


def worker_started(parent: int) -> None:
    """What a worker process (the local runner's, a reader of configs) does first: it ends
    with ``parent``, the command's process, and leaves the signals that end a command to it
    — Ctrl-C and a hangup reach the whole process group, and the command ends its workers
    once it has cleaned up — but SIGTERM sent to it alone ends it (quietly: not the
    command's handler, inherited)."""
    end_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def end_with_parent(parent: int) -> None:
    """Have this process, a worker just started by ``parent``, killed when that process ends,
    however it ends. Killed at once (the out-of-memory killer, kill -9), the job's process
    cannot end its workers: the local runner's went on reading their tasks (minutes for a
    share of a large archive), and preprocess's readers of the configs waited for ever,
    each holding its memory. Linux only (prctl); elsewhere nothing changes. (The signal
    comes when the thread that started this process ends: the one that waits for it.)"""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    if prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL)) != 0:
        return
    if os.getppid() != parent:      # it ended before the call: no signal will come
        os._exit(1)


def _affinity() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _read(path: str) -> Optional[str]:
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _number(text: Optional[str]) -> Optional[int]:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _stat(text: Optional[str], name: str) -> int:
    """A field of a memory.stat file (0 if absent)."""
    for line in (text or "").splitlines():
        field, _, value = line.partition(" ")
        if field == name:
            return _number(value) or 0
    return 0


def _meminfo_available(root: str) -> Optional[int]:
    for line in (_read(os.path.join(root, "proc/meminfo")) or "").splitlines():
        if line.startswith("MemAvailable:"):
            kilobytes = _number(line.split()[1]) if len(line.split()) > 1 else None
            return kilobytes * 1024 if kilobytes is not None else None
    return None


def _cgroups(root: str) -> List[Tuple[str, str]]:
    """(controllers, path) of each hierarchy this process is in (/proc/self/cgroup): ("", path)
    for cgroup v2's."""
    found = []
    for line in (_read(os.path.join(root, "proc/self/cgroup")) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            found.append((parts[1], parts[2]))
    return found


def _levels(mount: str, path: str) -> Iterator[str]:
    """The directories of a cgroup and of each one above it, to the hierarchy's root. In a
    container whose cgroup is not a namespace of its own, the path named is the host's and
    the container's own cgroup is mounted at the root: the root alone then."""
    mount = os.path.normpath(mount)
    here = os.path.normpath(os.path.join(mount, path.strip("/")))
    if not here.startswith(mount + os.sep) or not os.path.isdir(here):
        here = mount
    yield here
    while here != mount:
        here = os.path.dirname(here)
        yield here


def _hierarchies(root: str, controller: str) -> Iterator[str]:
    """The cgroup directories (this process's and those above it) that may hold the limits of
    ``controller``: of its v2 hierarchy, and of the v1 hierarchy that has it."""
    base = os.path.join(root, "sys/fs/cgroup")
    for controllers, path in _cgroups(root):
        if controllers == "":
            for mount in (base, os.path.join(base, "unified")):
                if os.path.exists(os.path.join(mount, "cgroup.controllers")):
                    yield from _levels(mount, path)
                    break
        elif controller in controllers.split(","):
            for name in (controllers, controller):
                mount = os.path.join(base, name)
                if os.path.isdir(mount):
                    yield from _levels(mount, path)
                    break


def _cpu_quotas(root: str) -> Iterator[float]:
    """The CPU quotas (in CPUs) of this process's cgroups, where they set one."""
    for directory in _hierarchies(root, "cpu"):
        fields = (_read(os.path.join(directory, "cpu.max")) or "").split()     # v2
        if len(fields) == 2 and fields[0] != "max":
            quota, period = _number(fields[0]), _number(fields[1])
        else:
            quota = _number(_read(os.path.join(directory, "cpu.cfs_quota_us")))  # v1
            period = _number(_read(os.path.join(directory, "cpu.cfs_period_us")))
        if quota is not None and period and quota > 0:
            yield quota / period


def _cgroup_room(root: str) -> Iterator[int]:
    """What each memory limit of this process's cgroups leaves."""
    for directory in _hierarchies(root, "memory"):
        limit = _read(os.path.join(directory, "memory.max"))                     # v2
        if limit is not None:
            usage = _number(_read(os.path.join(directory, "memory.current")))
            cache = _stat(_read(os.path.join(directory, "memory.stat")), "inactive_file")
        else:
            limit = _read(os.path.join(directory, "memory.limit_in_bytes"))     # v1
            usage = _number(_read(os.path.join(directory, "memory.usage_in_bytes")))
            stat = _read(os.path.join(directory, "memory.stat"))
            cache = _stat(stat, "total_inactive_file") or _stat(stat, "inactive_file")
        bound = _number(limit)
        if bound is None or bound >= UNLIMITED or usage is None:
            continue
        yield bound - max(0, usage - cache)
