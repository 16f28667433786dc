"""The database is JSON in sqlite, versioned; loading it never unpickles."""
import pickle
import sqlite3

import pytest
from conftest import firewall

from ruleset_analysis.database import (
    SCHEMA_VERSION,
    TABLE,
    DatabaseError,
    load_firewalls,
    load_identities,
    save_firewalls,
)


def test_round_trip_keeps_every_firewall(tmp_path):
    path = str(tmp_path / "db")
    save_firewalls(path, [firewall("access-list a extended permit ip any any\n", "fw01"),
                          firewall("access-list b extended permit ip any any\n", "fw02")])
    assert list(load_firewalls(path)) == ["fw01", "fw02"]



def test_identities_are_the_stored_firewalls_hostnames_and_aliases_in_their_order(tmp_path):
    path = str(tmp_path / "db")
    save_firewalls(path, [firewall("logging device-id string edge\n", "fw01"),
                          firewall("access-list b extended permit ip any any\n", "fw02")])
    loaded = load_firewalls(path)
    assert {name: (found.hostname, found.aliases)
            for name, found in load_identities(path).items()} == \
        {name: (fw.hostname, fw.aliases) for name, fw in loaded.items()}
    assert list(load_identities(path)) == ["fw01", "fw02"]
    assert "edge" in load_identities(path)["fw01"].aliases


def test_a_stored_firewall_keeps_its_warnings_and_the_fingerprint_its_ruleset_gives(tmp_path):
    from ruleset_analysis.model import Firewall
    path = str(tmp_path / "db")
    stored = firewall("access-list a extended permit ip any any\n"
                      "access-list a extended permit tcp any host 10.0.0.1 eq nosuchport\n")
    assert stored.warnings
    save_firewalls(path, [stored])
    loaded = load_firewalls(path)["fw01"]
    assert loaded.warnings == stored.warnings and loaded.source == stored.source
    assert loaded.fingerprint() == Firewall.from_json(stored.to_json()).fingerprint()
    other = firewall("access-list a extended permit ip any any\n")
    assert other.fingerprint() != loaded.fingerprint()

def test_preprocessing_a_firewall_again_replaces_only_that_firewall(tmp_path):
    path = str(tmp_path / "db")
    save_firewalls(path, [firewall("access-list a extended permit ip any any\n", "fw01"),
                          firewall("access-list b extended permit ip any any\n", "fw02")])
    save_firewalls(path, [firewall("access-list c extended permit ip any any\n", "fw01")])
    loaded = load_firewalls(path)
    assert list(loaded["fw01"].acls) == ["c"] and list(loaded["fw02"].acls) == ["b"]


def test_values_are_stored_as_json_text(tmp_path):
    path = str(tmp_path / "db")
    save_firewalls(path, [firewall("access-list a extended permit ip any any\n")])
    with sqlite3.connect(path) as conn:
        values = [row[0] for row in conn.execute(f'SELECT value FROM "{TABLE}"')]
    assert all(isinstance(v, str) and v[0] in "{[" for v in values)


def test_a_planted_pickle_is_never_unpickled(tmp_path):
    path = str(tmp_path / "db")
    save_firewalls(path, [firewall("access-list a extended permit ip any any\n")])

    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))
    with sqlite3.connect(path) as conn:
        conn.execute(f'UPDATE "{TABLE}" SET value = ? WHERE key = ?',
                     (pickle.dumps(Boom()), "firewall:fw01"))
    with pytest.raises(DatabaseError, match="corrupt|not a ruleset-analysis database"):
        load_firewalls(path)


def test_another_schema_version_is_refused_with_a_clear_message(tmp_path):
    path = str(tmp_path / "db")
    save_firewalls(path, [firewall("access-list a extended permit ip any any\n")])
    with sqlite3.connect(path) as conn:
        conn.execute(f'UPDATE "{TABLE}" SET value = ? WHERE key = ?',
                     (f'{{"schema": {SCHEMA_VERSION + 1}, "firewalls": ["fw01"]}}', "meta"))
    with pytest.raises(DatabaseError, match="schema"):
        load_firewalls(path)


def test_missing_and_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(DatabaseError, match="not found"):
        load_firewalls(str(tmp_path / "nope.db"))
    junk = tmp_path / "junk.db"
    junk.write_text("this is not sqlite")
    with pytest.raises(DatabaseError, match="not a ruleset-analysis database"):
        load_firewalls(str(junk))


def test_an_interrupted_write_leaves_the_previous_database_whole(tmp_path, monkeypatch):
    path = str(tmp_path / "db")
    save_firewalls(path, [firewall("access-list a extended permit ip any any\n", "fw01")])
    before = open(path, "rb").read()
    broken = firewall("access-list b extended permit ip any any\n", "fw02")

    def interrupted():
        raise KeyboardInterrupt
    monkeypatch.setattr(broken, "to_json", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_firewalls(path, [firewall("access-list c extended permit ip any any\n", "fw01"),
                              broken])
    assert open(path, "rb").read() == before
    assert list(load_firewalls(path)["fw01"].acls) == ["a"]
    # no temporary left over (the lock file concurrent writers share stays)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "db.lock"]


def test_an_ace_stored_without_a_field_is_a_clear_error(tmp_path):
    import json
    import sqlite3

    from ruleset_analysis.database import FIREWALL_PREFIX, TABLE
    path = str(tmp_path / "db")
    save_firewalls(path, [firewall("access-list a extended permit ip any any\n")])
    with sqlite3.connect(path) as conn:
        key = FIREWALL_PREFIX + "fw01"
        value = json.loads(conn.execute(f'SELECT value FROM "{TABLE}" WHERE key = ?',
                                        (key,)).fetchone()[0])
        del value["acls"][0]["entries"][0]["destinations"]
        conn.execute(f'UPDATE "{TABLE}" SET value = ? WHERE key = ?', (json.dumps(value), key))
    with pytest.raises(DatabaseError, match="corrupt"):
        load_firewalls(path)


def test_a_value_nested_thousands_deep_is_a_clear_error(tmp_path):
    import sqlite3

    from ruleset_analysis.database import FIREWALL_PREFIX, TABLE
    path = str(tmp_path / "db")
    save_firewalls(path, [firewall("access-list a extended permit ip any any\n")])
    with sqlite3.connect(path) as conn:
        conn.execute(f'UPDATE "{TABLE}" SET value = ? WHERE key = ?',
                     ("[" * 100_000 + "]" * 100_000, FIREWALL_PREFIX + "fw01"))
    with pytest.raises(DatabaseError, match="corrupt"):
        load_firewalls(path)


def test_a_corrupted_database_is_a_clear_error(tmp_path):
    path = tmp_path / "db"
    save_firewalls(str(path), [firewall("access-list a extended permit ip any any\n")])
    data = bytearray(path.read_bytes())
    data[200:4000] = b"\xff" * 3800                 # smash pages after the header
    path.write_bytes(bytes(data))
    with pytest.raises(DatabaseError):
        load_firewalls(str(path))
