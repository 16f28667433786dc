"""The preprocessed ruleset database: a sqlitedict whose values are JSON, never pickle.

The file is copied to every task of a cluster job, so loading it must not be able to execute
code: values are decoded with ``json.loads`` only. A ``meta`` entry carries the schema version;
a database written by another version is refused with a clear message.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import urllib.parse
from typing import NamedTuple, Optional, Tuple

from .history import (
    History,
    OlderRevisions,
    ace_template,
    revision_firewall,
    whole_revision,
)
from .model import Ace, Firewall, collector_paused, json_bytes

# 4: ruleset fingerprints in meta; 5: the groups an ACE names; 6: control-plane bindings;
# 7: config history (older revisions); 8: their group definitions once each, their ACEs'
# file:line as the line; 9: digests (fingerprints, ACE and group tables) of compact JSON,
# older revisions but every 16th as a change to the one before
SCHEMA_VERSION = 9
TABLE = "ruleset_analysis"
META_KEY = "meta"
FIREWALL_PREFIX = "firewall:"
CAPTURES_PREFIX = "captures:"      # a firewall's `show access-list` captures (counters.py)
HASHES_PREFIX = "hashes:"          # what their ACE/element hashes name (counters.hash_map)
HISTORY_PREFIX = "history:"        # a firewall's revisions and ACE lives (history.History)
REVISION_PREFIX = "revision:"      # "revision:FW:K": its older revision K, ACEs by digest
HISTORY_ACES_PREFIX = "history-aces:"   # the ACEs of its older revisions, once each
HISTORY_GROUPS_PREFIX = "history-groups:"   # their group definitions, once each


class DatabaseError(Exception):
    """The database is missing, unreadable, corrupt, or from another version."""


def _open(path: str, flag: str):
    """The database for writing. Each statement commits as it runs (on the copy _save renames
    into place, so the database stays whole): sqlitedict's thread dies where a commit of its
    own fails (a full disk, a file size limit) and the caller then waits for ever
    (piskvorky/sqlitedict#108, 2.1.0); a statement's error instead is raised at the next
    call, which _save reports. Its log lines about it are not shown: that report says it."""
    # Imported here: tasks only read, with sqlite3, and need no sqlitedict on their nodes.
    from sqlitedict import SqliteDict
    logging.getLogger("sqlitedict").setLevel(logging.CRITICAL)
    # (its bytes: a name that is not UTF-8, which sqlite3 cannot encode as text, opens too)
    return SqliteDict(os.fsencode(path), tablename=TABLE, flag=flag, encode=_json_text,
                      decode=json.loads, outer_stack=False, autocommit=True)


def _json_text(value) -> str:
    return json_bytes(value).decode("utf-8")


@collector_paused()          # their JSON's dicts (at 1.2M rules 4.8 s to store, 2.6 s paused)
def save_firewalls(path: str, firewalls: list, older: Optional[dict] = None) -> None:
    """Store firewalls, replacing those with the same name and keeping all others.
    ``older``: {name: its older revisions (history.OlderRevisions)} of firewalls with a
    ``history``.

    The new database is written to a temporary copy beside ``path`` and renamed over it, so an
    interrupted run leaves the previous database, whole, for the next step to trust.
    """
    # Concurrent writers serialise on a lock file beside the database: each reads the
    # database the previous one wrote, so no firewall is lost.
    with open(os.path.abspath(path) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _save(path, lambda db: _store_firewalls(db, firewalls, older or {}))


def _store_firewalls(db, firewalls: list, older: dict) -> None:
    meta = db.get(META_KEY) or {"schema": SCHEMA_VERSION, "firewalls": [], "fingerprints": {}}
    names = list(meta["firewalls"])
    fingerprints = dict(meta["fingerprints"])
    for firewall in firewalls:
        data = firewall.to_json()
        db[FIREWALL_PREFIX + firewall.name] = data
        fingerprints[firewall.name] = firewall.fingerprint(data)
        if HASHES_PREFIX + firewall.name in db:     # named the old ruleset's lines
            del db[HASHES_PREFIX + firewall.name]
        _store_history(db, firewall, older.get(firewall.name, OlderRevisions()))
        if firewall.name not in names:
            names.append(firewall.name)
    db[META_KEY] = {"schema": SCHEMA_VERSION, "firewalls": names,
                    "fingerprints": fingerprints}


def _store_history(db, firewall: Firewall, older: OlderRevisions) -> None:
    """A firewall's history, replacing any it had, its older revisions as build_history holds
    them: each ACE stored once (by a digest of what it is), a revision only where its ACEs
    stood (line, first rule index, file:line) and its groups' digests, most as a change to
    the one before (OlderRevisions.form)."""
    name = firewall.name
    for key in [k for k in db.keys() if k.startswith(f"{REVISION_PREFIX}{name}:")]:
        del db[key]
    for key in (HISTORY_PREFIX + name, HISTORY_ACES_PREFIX + name,
                HISTORY_GROUPS_PREFIX + name):
        if key in db:
            del db[key]
    if firewall.history is None:
        return
    if len(older) != len(firewall.history.older):     # a history without its revisions
        raise DatabaseError(f"{name}: {len(firewall.history.older)} older revisions to store, "
                            f"{len(older)} given")
    db[HISTORY_PREFIX + name] = firewall.history.to_json()
    for number in range(len(older)):
        db[f"{REVISION_PREFIX}{name}:{number}"] = older.form(number)
    db[HISTORY_ACES_PREFIX + name] = older.aces
    db[HISTORY_GROUPS_PREFIX + name] = older.groups


class RevisionLoader:
    """Loads a firewall's older revisions (``history.History.load``): the shared ACE and group
    tables are read and decoded once, and each ACE body once however many revisions have it."""

    def __init__(self, path: str, name: str):
        self.path, self.name = path, name
        self.aces: Optional[dict] = None         # digest -> Ace (line 0: a template)
        self.groups: dict = {}                   # digest -> a group's definition
        self.last: Optional[Tuple[int, dict]] = None    # the last revision made, stored

    def __call__(self, number: int) -> Firewall:
        if self.aces is None:
            found = _read(self.path, [HISTORY_ACES_PREFIX + self.name,
                                      HISTORY_GROUPS_PREFIX + self.name])
            try:
                self.aces = {digest: ace_template(body) for digest, body in found[0].items()}
                self.groups = found[1]
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise DatabaseError(f"{self.path}: database is corrupt ({exc!r})") from None
        try:
            return revision_firewall(self.stored(number), self.aces.__getitem__, self.groups)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise DatabaseError(f"{self.path}: database is corrupt ({exc!r})") from None

    def stored(self, number: int) -> dict:
        """Older revision ``number`` whole: a change is made from the one before
        (history.whole_revision)."""
        self.last = (number, whole_revision(number, self._form, self.last))
        return self.last[1]

    def _form(self, number: int) -> dict:
        found = _read(self.path, [f"{REVISION_PREFIX}{self.name}:{number}"])[0]
        if not isinstance(found, dict):
            raise ValueError(f"no revision {number} of {self.name}")
        return found


def save_captures(path: str, firewall: str, captures: list) -> None:
    """Add `show access-list` captures (JSON) of one firewall of the database; one taken at
    the same time as a stored one replaces it (the same capture given again)."""
    read_meta(path)

    def store(db) -> None:
        kept = {c["taken_at"]: c for c in db.get(CAPTURES_PREFIX + firewall) or []}
        kept.update((c["taken_at"], c) for c in captures)
        db[CAPTURES_PREFIX + firewall] = [kept[t] for t in sorted(kept)]
    with open(os.path.abspath(path) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _save(path, store)


def save_hashes(path: str, hashes: dict) -> None:
    """Store {firewall: hash map} (``counters.hash_map``), replacing each firewall's."""
    def store(db) -> None:
        for name, found in hashes.items():
            db[HASHES_PREFIX + name] = found
    with open(os.path.abspath(path) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _save(path, store)


def load_captures(path: str) -> dict:
    """-> {firewall: [capture JSON, oldest first]} for the firewalls that have any."""
    names = read_meta(path)["firewalls"]
    values = _read(path, [CAPTURES_PREFIX + name for name in names])
    return {name: value for name, value in zip(names, values) if value}


def _save(path: str, update) -> None:
    """Apply ``update(db)`` to a copy of the database and rename it into place."""
    if os.path.exists(path):
        read_meta(path)          # refuse to write into a foreign or newer database
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".db")
    os.close(fd)
    try:
        if os.path.exists(path):
            shutil.copyfile(path, tmp)
        else:
            os.unlink(tmp)
        with _open(tmp, "c") as db:
            update(db)
            db.commit()
        os.replace(tmp, path)
    except (sqlite3.Error, OSError) as exc:
        raise DatabaseError(f"{path}: cannot write database: {exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


SQLITE_MAGIC = b"SQLite format 3\x00"


def _read(path: str, keys: list, object_hook=None) -> list:
    """Values of ``keys``, decoded as JSON (each object through ``object_hook``). Read with
    plain sqlite3 in read-only mode: no worker thread, no pickle, and it works where the
    task's filesystem is read-only."""
    uri = "file:" + urllib.parse.quote(os.fsencode(os.path.abspath(path))) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            values = []
            for key in keys:
                row = conn.execute(f'SELECT value FROM "{TABLE}" WHERE key = ?',
                                   (key,)).fetchone()
                values.append(None if row is None else
                              json.loads(row[0], object_hook=object_hook))
            return values
        finally:
            conn.close()
    except (sqlite3.Error, ValueError, TypeError, KeyError, AttributeError,
            RecursionError) as exc:
        # ValueError: a value that is not JSON (a planted pickle is just that); RecursionError:
        # one nested thousands deep; the others: an object_hook's object that lacks what it
        # must have
        raise DatabaseError(f"{path}: not a ruleset-analysis database or corrupt "
                            f"({exc})") from None


def read_meta(path: str) -> dict:
    if not os.path.isfile(path):
        raise DatabaseError(f"{path}: database not found (run 'ruleset-analysis preprocess')")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise DatabaseError(f"{path}: cannot read database: {exc.strerror}") from None
    if magic != SQLITE_MAGIC:
        raise DatabaseError(f"{path}: not a ruleset-analysis database (not SQLite)")
    meta = _read(path, [META_KEY])[0]
    if not isinstance(meta, dict) or "schema" not in meta:
        raise DatabaseError(f"{path}: not a ruleset-analysis database (no schema version)")
    if meta["schema"] != SCHEMA_VERSION:
        raise DatabaseError(f"{path}: database schema {meta['schema']} is not the supported "
                            f"{SCHEMA_VERSION}; remove it and preprocess the configs again")
    return meta


class Identity(NamedTuple):
    """What names a firewall in log lines, as a Firewall has it (aggregate.claims reads
    either)."""
    hostname: Optional[str]
    aliases: list


@collector_paused()             # the ACLs' decoded tree: a million containers at 1.2M rules
def load_identities(path: str) -> dict:
    """-> {name: Identity} of every firewall in the database, its ACEs not made (loading them
    whole was 1.4 s of a 1.2M-rule preprocess, for its identity conflicts)."""
    names = read_meta(path)["firewalls"]
    values = _read(path, [FIREWALL_PREFIX + name for name in names])
    try:
        return {name: Identity(value["hostname"], value["aliases"])
                for name, value in zip(names, values)}
    except (KeyError, TypeError) as exc:
        raise DatabaseError(f"{path}: database is corrupt ({exc!r})") from None


@collector_paused()
def load_firewalls(path: str) -> dict:
    """-> {name: Firewall}, in the order they were first preprocessed."""
    meta = read_meta(path)
    names = meta["firewalls"]
    # Each ACE made an object as soon as it is decoded: a million rules' decoded tree,
    # never whole, no longer sets the process's peak memory.
    values = _read(path, [FIREWALL_PREFIX + name for name in names], Ace.decoded)
    hashes = _read(path, [HASHES_PREFIX + name for name in names])
    histories = _read(path, [HISTORY_PREFIX + name for name in names])
    try:
        firewalls = {name: Firewall.from_json(value) for name, value in zip(names, values)}
        for (name, firewall), found, history in zip(firewalls.items(), hashes, histories):
            # computed once, when it was written
            firewall.__dict__["_fingerprint"] = meta["fingerprints"][name]
            firewall.hashes = found or {}
            if history is not None:
                firewall.history = History.from_json(history)
                firewall.history.load = RevisionLoader(path, name)
        return firewalls
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DatabaseError(f"{path}: database is corrupt ({exc!r})") from None
