"""The preprocessed ruleset database: a sqlitedict whose values are JSON, never pickle.

The file is copied to every task of a cluster job, so loading it must not be able to execute
code: values are decoded with ``json.loads`` only. A ``meta`` entry carries the schema version;
a database written by another version is refused with a clear message.
"""
from __future__ import annotations

import json
import os
import sqlite3

from sqlitedict import SqliteDict

from .model import Firewall

SCHEMA_VERSION = 2
TABLE = "ruleset_analysis"
META_KEY = "meta"
FIREWALL_PREFIX = "firewall:"


class DatabaseError(Exception):
    """The database is missing, unreadable, corrupt, or from another version."""


def _open(path: str, flag: str) -> SqliteDict:
    return SqliteDict(path, tablename=TABLE, flag=flag, encode=json.dumps, decode=json.loads,
                      outer_stack=False)


def save_firewalls(path: str, firewalls: list) -> None:
    """Store firewalls, replacing those with the same name and keeping all others."""
    if os.path.exists(path):
        read_meta(path)          # refuse to write into a foreign or newer database
    try:
        with _open(path, "c") as db:
            meta = db.get(META_KEY) or {"schema": SCHEMA_VERSION, "firewalls": []}
            names = list(meta["firewalls"])
            for firewall in firewalls:
                db[FIREWALL_PREFIX + firewall.name] = firewall.to_json()
                if firewall.name not in names:
                    names.append(firewall.name)
            db[META_KEY] = {"schema": SCHEMA_VERSION, "firewalls": names}
            db.commit()
    except (sqlite3.Error, OSError) as exc:
        raise DatabaseError(f"{path}: cannot write database: {exc}") from None


SQLITE_MAGIC = b"SQLite format 3\x00"


def read_meta(path: str) -> dict:
    if not os.path.isfile(path):
        raise DatabaseError(f"{path}: database not found (run 'ruleset-analysis preprocess')")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise DatabaseError(f"{path}: cannot read database: {exc.strerror}") from None
    if magic != SQLITE_MAGIC:      # sqlitedict's worker thread would print a traceback
        raise DatabaseError(f"{path}: not a ruleset-analysis database (not SQLite)")
    try:
        with _open(path, "r") as db:
            meta = db.get(META_KEY)
    except (sqlite3.Error, RuntimeError, OSError, ValueError) as exc:
        raise DatabaseError(f"{path}: not a ruleset-analysis database ({exc})") from None
    if not isinstance(meta, dict) or "schema" not in meta:
        raise DatabaseError(f"{path}: not a ruleset-analysis database (no schema version)")
    if meta["schema"] != SCHEMA_VERSION:
        raise DatabaseError(f"{path}: database schema {meta['schema']} is not the supported "
                            f"{SCHEMA_VERSION}; preprocess the configs again")
    return meta


def load_firewalls(path: str) -> dict:
    """-> {name: Firewall}, in the order they were first preprocessed."""
    meta = read_meta(path)
    try:
        with _open(path, "r") as db:
            return {name: Firewall.from_json(db[FIREWALL_PREFIX + name])
                    for name in meta["firewalls"]}
    except (sqlite3.Error, RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise DatabaseError(f"{path}: database is corrupt ({exc!r})") from None
