"""Config files in, expanded firewalls out: the ``preprocess`` step without the CLI."""
from __future__ import annotations

import gc
import ipaddress
import multiprocessing
import os
import pickle
import time
from collections import deque
from typing import Callable, Deque, Dict, Generator, List, Optional, Sequence, TextIO, Tuple

from .asa.config import ConfigError, parse_config
from .asa.routes import read_routes
from .expand import expand_config
from .history import HistoryBuilder, OlderRevisions
from .machine import reading_workers, worker_started
from .model import Firewall, collector_paused
from .revisions import ConfigRevision, from_git, from_spec, read_text


def read_config(path: str, name: str = "", interface_addresses: Optional[dict] = None,
                routes: Optional[str] = None) -> Firewall:
    """Parse and expand one config file; unreadable files raise ConfigError.
    ``interface_addresses``: nameif -> address, for interfaces whose address DHCP or PPPoE
    assigns (the config does not have it); ``routes``: a `show route` capture of the firewall,
    whose routes (dynamic ones too) place ICMP connections on their interfaces, or a directory
    holding it as FIREWALL.routes (or CONFIG-STEM.routes)."""
    return read_config_text(read_text(path), path, name, interface_addresses, routes)


# A config's parse and expansion make its rules' objects, which the collector would rescan at
# every threshold: at 1.2M rules 4.4 s of reading, 1.4 s paused (peak 463 against 474 MB).
@collector_paused()
def read_config_text(text: str, path: str, name: str = "",
                     interface_addresses: Optional[dict] = None,
                     routes: Optional[str] = None) -> Firewall:
    """``read_config`` of a config's text; ``path`` names it in messages (file@revision)."""
    parsed = parse_config(text, path, name or "")
    for nameif, address in (interface_addresses or {}).items():
        iface = parsed.firewall.interfaces.get(nameif)
        if iface is None:
            raise ConfigError(f"{path}: --interface-address {nameif}: no such interface "
                              f"(it has: {', '.join(parsed.firewall.interfaces) or 'none'})")
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise ConfigError(f"--interface-address {nameif}={address}: not an address") \
                from None
        iface.addresses = [f"{ip}/{ip.max_prefixlen}"]
    routes = routes_file(routes, parsed.firewall.name, path)
    if routes is not None:
        firewall_routes = parsed.firewall.routes
        for nameif, network, learned in read_routes(routes, parsed.firewall.warnings):
            if nameif not in parsed.firewall.interfaces:
                parsed.firewall.warnings.append(f"{routes}: route to {network} via '{nameif}', "
                                                "an interface the config does not have")
            firewall_routes.append([nameif, network, learned])
    firewall = expand_config(parsed)
    for direction, table in (("in", firewall.inbound), ("out", firewall.outbound)):
        for interface, acl in table.items():
            if acl not in firewall.acls:
                firewall.warnings.append(f"{path}: access-group {acl} {direction} interface "
                                         f"{interface}: the ACL is not defined")
    if firewall.global_acl and firewall.global_acl not in firewall.acls:
        firewall.warnings.append(f"{path}: access-group {firewall.global_acl} global: the ACL "
                                 "is not defined")
    return firewall


# What the processes reading configs for read_firewalls read (inherited on fork).
_REVISIONS: List[ConfigRevision] = []
_READ_ARGS: tuple = ()
SMALL_CONFIGS = 1 << 20     # bytes of configs read in ~0.25 s
COLLECT_EVERY = 16      # revisions read between two collections of what they left in cycles


def _read_revision(position: int) -> bytes:
    """A worker's revision, read and pickled here with the collector paused: pickled after
    (the executor's), its temporary objects set off collections that rescanned the whole
    firewall, 1.6 s of a 1.2M-rule revision against 0.6 s."""
    revision = _REVISIONS[position]
    with collector_paused():
        return pickle.dumps(read_config_text(revision.text, revision.source, *_READ_ARGS),
                            protocol=pickle.HIGHEST_PROTOCOL)


def _reader_started(parent: int) -> None:
    worker_started(parent)
    # forked with the collector paused: its own garbage collected between configs, what it
    # inherited left alone (not rescanned, so not copied)
    gc.freeze()
    gc.enable()


def _read_in_order(revisions: List[ConfigRevision], order: List[int], args: tuple,
                   workers: int, note: Optional[Callable[[str], None]]
                   ) -> Generator[Firewall, None, None]:
    """Each revision of ``order`` read and expanded, in that order: by ``workers`` processes
    while the caller builds the histories of those before (a history of 48 revisions of
    120,000 rules: 16 s against 23 s read here, one at a time, on 2 CPUs), else here. At
    most ``workers`` results wait here. A worker that ends unexpectedly (the out-of-memory
    killer), or none that can start, leaves the rest to be read here, one at a time, as
    ``note`` says."""
    global _REVISIONS, _READ_ARGS
    done = 0
    executor = None
    if workers and "fork" in multiprocessing.get_all_start_methods():
        # (imported here: 5 ms of every command's start)
        from concurrent.futures import Future, ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool
        try:
            executor = ProcessPoolExecutor(workers, initializer=_reader_started,
                                           initargs=(os.getpid(),),
                                           mp_context=multiprocessing.get_context("fork"))
        except (OSError, ImportError) as exc:   # no POSIX semaphores (a container's /dev/shm)
            if note is not None:
                note(f"no process can be started to read the configs ({exc}): they are read "
                     "here, one at a time")
    if executor is not None:
        _REVISIONS, _READ_ARGS = revisions, args
        try:
            pending: Deque[Future] = deque()
            given = 0
            while done < len(order):
                try:            # (broken: raised by the next submit, or by a result)
                    while given < len(order) and len(pending) < workers:
                        pending.append(executor.submit(_read_revision, order[given]))
                        given += 1
                    firewall = pickle.loads(pending.popleft().result())
                except BrokenProcessPool:
                    if note is not None:
                        note("a process reading the configs ended unexpectedly (the "
                             "out-of-memory killer?): the rest are read here, one at a time")
                    break
                except OSError as exc:  # fork refused (a process limit); else read here again
                    if note is not None:
                        note(f"no process can be started to read the configs ({exc}): the "
                             "rest are read here, one at a time")
                    break
                done += 1
                yield firewall
        finally:
            if done < len(order):   # an error, Ctrl-C, SIGTERM: not after their tasks
                for process in list((getattr(executor, "_processes", None) or {}).values()):
                    process.terminate()
            executor.shutdown(wait=True, cancel_futures=True)
            _REVISIONS, _READ_ARGS = [], ()
    for position in order[done:]:
        revision = revisions[position]
        yield read_config_text(revision.text, revision.source, *args)


# The collector paused but every COLLECT_EVERY revisions: a revision's objects, not cyclic,
# go when the next replaces them; its collections at each revision's end (a full one
# rescanning the newest) were 8% of a long history, and the processes reading configs,
# forked, then copied the pages it touched.
@collector_paused()
def read_firewalls(specs: List[str], git: Sequence[str] = (), name: str = "",
                   interface_addresses: Optional[dict] = None, routes: Optional[str] = None,
                   progress: Optional[TextIO] = None, workers: Optional[int] = None,
                   note: Optional[Callable[[str], None]] = None, most: Optional[int] = None
                   ) -> Tuple[List[Firewall], Dict[str, OlderRevisions]]:
    """Config arguments (files, FILE@TIME, directories of dated files) and ``--git`` paths
    -> (firewalls, {name: older revisions}). Dated revisions of one firewall (one directory,
    one file's git history, or FILE@TIME arguments naming one hostname) become its history;
    an undated config is a firewall of one revision, as before. ``progress``: a terminal on
    which to show how many configs are read (a long history takes minutes); ``workers``:
    processes reading them beside this one (0: read here; default: machine.reading_workers,
    fewer than ``most``: with this one, ``most`` processes); ``note``: told where that
    changes."""
    revisions = [r for spec in specs for r in from_spec(spec)] + \
        [r for path in git for r in from_git(path)]
    total = len(revisions)
    if workers is None:
        # configs read in less time than processes take to start (~20 ms) are read here
        small = all(r.size is not None for r in revisions) and \
            sum(r.size or 0 for r in revisions) < SMALL_CONFIGS
        workers = 0 if small else min(reading_workers(total),
                                      total if most is None else most - 1)
    # Read in time order (undated first), so each firewall's history is built as its
    # revisions come (only the newest held whole); each text read when parsed, let go after.
    order = sorted(range(total), key=lambda n: (revisions[n].since is not None,
                                                revisions[n].since or ""))
    firewalls: List[Firewall] = []
    builders: Dict[str, Tuple[int, HistoryBuilder]] = {}    # firewall -> (first given, ...)
    last: Dict[str, ConfigRevision] = {}
    started = time.monotonic()
    read = _read_in_order(revisions, order, (name, interface_addresses, routes), workers,
                          note)
    try:
        for number, (position, firewall) in enumerate(zip(order, read), 1):
            revision = revisions[position]
            if number % COLLECT_EVERY == 0:
                gc.collect()
            if progress is not None:
                elapsed = time.monotonic() - started
                left = elapsed * (total - number) / number
                progress.write(f"\rpreprocess: {number} of {total} configs read "
                               f"({revision.source}), {elapsed:.1f} s elapsed, about "
                               f"{left:.0f} s left ")
                progress.flush()
            if revision.since is None:
                firewalls.append(firewall)
                continue
            group = revision.group or firewall.name
            previous = last.get(group)
            if previous is not None and previous.since == revision.since:
                raise ConfigError(f"{previous.source} and {revision.source} took effect at "
                                  f"the same time ({revision.since}): which one was in force?")
            last[group] = revision
            first, builder = builders.get(group, (position, HistoryBuilder()))
            builders[group] = (min(first, position), builder)
            builder.add(revision.since, revision.source, firewall)
    finally:
        read.close()      # its workers stopped at once on an error
    if progress is not None and total:
        progress.write("\n")
    older: Dict[str, OlderRevisions] = {}
    for _, builder in sorted(builders.values(), key=lambda found: found[0]):
        newest, before = builder.finish()
        if newest.name in older or any(f.name == newest.name for f in firewalls):
            raise ConfigError(f"several configs name the firewall {newest.name}, dated and "
                              "undated or in several places: give its revisions one way")
        firewalls.append(newest)
        older[newest.name] = before
    return firewalls, older


def routes_file(routes: Optional[str], name: str, config: str) -> Optional[str]:
    """A `show route` file, or the one for this firewall in a directory of them (None when
    the directory has none: its ICMP lines are placed by the config's own routes)."""
    if routes is None or not os.path.isdir(routes):
        return routes
    stem = os.path.splitext(os.path.basename(config))[0]
    for candidate in (name.replace("/", "_"), stem):
        path = os.path.join(routes, f"{candidate}.routes")
        if os.path.isfile(path):
            return path
    return None


def summary(firewall: Firewall) -> dict:
    aces = list(firewall.aces())
    return {"firewall": firewall.name, "acls": len(firewall.acls), "aces": len(aces),
            "rules": sum(a.rule_count for a in aces),
            "unparsed": sum(1 for a in aces if a.error), "warnings": len(firewall.warnings)}
