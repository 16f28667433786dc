"""A history built as its revisions are read (only the newest held whole) is the history built
from all of them held at once: checked against that plain algorithm, kept here as the
reference, on random histories (ACEs added, removed, moved, written twice, written again;
members gained and lost; renamed firewalls; revisions that change nothing)."""
import inspect
import json
import random
import sqlite3
import sys
from typing import Dict, List

import pytest
from conftest import OUTSIDE_DMZ, firewall

from ruleset_analysis import history as history_module
from ruleset_analysis.asa.config import parse_config
from ruleset_analysis.database import (
    REVISION_PREFIX,
    TABLE,
    DatabaseError,
    RevisionLoader,
    load_firewalls,
    save_firewalls,
)
from ruleset_analysis.expand import expand_config
from ruleset_analysis.history import (
    SNAPSHOT_EVERY,
    History,
    HistoryBuilder,
    Retired,
    Revision,
    build_history,
    identities,
    rule_map,
)
from ruleset_analysis.model import json_digest


def reference_history(revisions):
    """All revisions held at once: (since, source, Firewall) -> (newest, older Firewalls)."""
    def matching(fw):        # all but where it and its ACEs were read (and the warnings)
        data = fw.to_json()
        del data["warnings"], data["source"]
        for acl in data["acls"]:
            for ace in acl["entries"]:
                del ace["source"]
        return json.dumps(data, sort_keys=True)
    ordered = sorted(revisions, key=lambda r: r[0])
    kept = []
    for since, source, fw in ordered:
        if kept and matching(kept[-1][2]) == matching(fw):
            kept[-1] = (kept[-1][0], source, fw)      # one, from the first's time, as read last
            continue
        kept.append((since, source, fw))
    newest_since, newest_source, newest = kept[-1]
    history = History(newest_since, newest_source,
                      [Revision(s, src, fw.fingerprint()) for s, src, fw in kept[:-1]])
    starts = [s for s, _, _ in kept]
    ends = starts[1:] + [""]
    lives: Dict[tuple, List[List[str]]] = {}
    last_seen = {}
    each = [identities(fw) for _, _, fw in kept]
    for (since, _, _), until, found in zip(kept, ends, each):
        for identity, ace in found.items():
            periods = lives.setdefault(identity, [])
            if periods and periods[-1][1] == since:
                periods[-1][1] = until
            else:
                periods.append([since, until])
            last_seen[identity] = ace
    current = each[-1]
    for identity, ace in current.items():
        if lives[identity][-1][0] != starts[0]:
            history.ace_since[f"{ace.acl} {ace.line}"] = lives[identity][-1][0]
        if len(lives[identity]) > 1:
            history.ace_periods[f"{ace.acl} {ace.line}"] = lives[identity]
    for identity, ace in current.items():
        born = {rule.index: newest_since for rule in ace.rules}
        alive = set(born)
        for (since, _, _), found in zip(reversed(kept[:-1]), reversed(each[:-1])):
            old = found.get(identity)
            if old is None or not alive:
                break
            alive &= set(rule_map(old, ace).values())
            for index in alive:
                born[index] = since
        for index, since in born.items():
            if since != lives[identity][-1][0]:
                history.rule_since[f"{ace.acl} {ace.line} {index}"] = since
    for identity in sorted(set(lives) - set(current), key=lambda i: (lives[i][0][0], i)):
        ace = last_seen[identity]
        history.retired.append(Retired(len(history.retired), identity[0], ace.text,
                                       identity[2], ace.line, lives[identity], ace))
    newest.history = history
    newest.__dict__.pop("_fingerprint", None)
    return newest, [fw for _, _, fw in kept[:-1]]


def reference_aces(older):
    """The ACE table of stored older revisions: each body (an ACE but where it stood) once, by
    a digest of it, in the order first met."""
    aces: dict = {}
    for revision in older:
        for acl in revision.to_json()["acls"]:
            for ace in acl["entries"]:
                del ace["line"], ace["first_index"], ace["source"]
                digest = json_digest(ace)[:20]       # the digest the database keys by
                aces.setdefault(digest, ace)
    return aces


GROUP_MEMBERS = ["172.16.1.10", "172.16.1.11", "172.16.1.12", "172.16.1.13"]
PORTS = ["22", "80", "443", "8080"]
TEXTS = [
    "access-list outside_in extended permit tcp any object-group WEB eq https",
    "access-list outside_in extended permit tcp any object-group WEB object-group PORTS",
    "access-list outside_in extended permit tcp object-group ADMINS object-group WEB eq ssh",
    "access-list outside_in extended permit tcp any host 172.16.1.11 eq ssh",
    "access-list outside_in extended permit tcp any host 172.16.1.11 eq ssh log",
    "access-list outside_in extended permit tcp any host 172.16.1.11 eq ssh inactive",
    "access-list outside_in extended permit udp any host 172.16.1.20 eq domain",
    "access-list outside_in extended deny ip any 172.16.1.0 255.255.255.0",
    "access-list outside_in remark the web servers",
    "access-list dmz_in extended permit tcp object-group WEB any eq https",
    "access-list dmz_in extended permit ip any any",
]


def random_config(rng: random.Random, hostname: str) -> str:
    def members(pool):
        chosen = [m for m in pool if rng.random() < 0.6] or [pool[0]]
        if rng.random() < 0.2:
            chosen.append(chosen[0])          # a member written twice
        return chosen
    groups = "object-group network WEB\n" + "".join(
        f" network-object host {m}\n" for m in members(GROUP_MEMBERS))
    groups += "object-group network ADMINS\n" + "".join(
        f" network-object host 10.9.9.{n}\n" for n in range(1, rng.randint(2, 4)))
    groups += "object-group service PORTS tcp\n" + "".join(
        f" port-object eq {p}\n" for p in members(PORTS))
    aces = [t for t in TEXTS if rng.random() < 0.6]
    aces += rng.sample(TEXTS, rng.randint(0, 2))      # some written twice
    rng.shuffle(aces)
    return (f"hostname {hostname}\n" + OUTSIDE_DMZ + groups + "\n".join(aces) +
            "\naccess-group outside_in in interface outside\n"
            "access-group dmz_in in interface dmz\n")


def random_history(seed: int):
    """(since, config text, the file it was read from), in any order."""
    rng = random.Random(seed)
    texts = []
    for n in range(rng.randint(1, 9)):
        if texts and rng.random() < 0.2:
            _, text, file = texts[-1]            # nothing changed: one revision with it,
            if rng.random() < 0.3:               # but for the name (a revision of its own)
                text = text.replace("hostname fw01", "hostname fw03")
            elif rng.random() < 0.4:             # or the file (its ACEs' file:line too)
                file = f"r{n}.cfg"
        else:
            text = random_config(rng, rng.choice(["fw01", "fw01", "fw01", "fw02"]))
            file = rng.choice(["test.cfg", f"r{n}.cfg"])
        texts.append((f"2014-06-{n + 1:02d} 00:00:00", text, file))
    rng.shuffle(texts)                            # given in any order
    return texts


def read(text: str, file: str):
    return expand_config(parse_config(text, file))


def renamed(fw, name):
    fw.name = name
    return fw


@pytest.mark.parametrize("seed", range(150))
def test_a_history_built_revision_by_revision_is_the_one_built_from_all_at_once(seed, tmp_path):
    texts = random_history(seed)
    last_name = firewall(max(texts)[1]).name
    newest, older = build_history([(since, file, read(text, file))
                                   for since, text, file in texts])
    want, want_older = reference_history([(since, file, renamed(read(text, file), last_name))
                                          for since, text, file in texts])
    assert newest.name == want.name == last_name
    assert newest.history.to_json() == want.history.to_json()
    assert newest.fingerprint() == want.fingerprint()
    assert newest.to_json() == want.to_json()
    assert list(older.aces.items()) == list(reference_aces(want_older).items())
    want_json = [fw.to_json() for fw in want_older]
    assert [older[n].to_json() for n in range(len(older))] == want_json
    db = str(tmp_path / "h.db")
    save_firewalls(db, [newest], {newest.name: older})
    loaded = load_firewalls(db)[newest.name]
    assert loaded.fingerprint() == want.fingerprint()
    assert [loaded.history.load(n).to_json() for n in range(len(older))] == want_json
    # each alone too, the newest first: a change is made from the revisions before it
    assert [RevisionLoader(db, newest.name)(n).to_json() for n in reversed(range(len(older)))] \
        == want_json[::-1]


def long_history(count: int):
    """``count`` daily revisions of a 120-ACE config: each drops an ACE of its own, some add
    one and change a group's members, and every third is read from a file of its own."""
    texts = []
    for n in range(count):
        aces = [f"access-list outside_in extended permit tcp any host 10.1.{i // 200}.{i % 200} "
                f"eq {1000 + i}" for i in range(120) if i != (n * 7) % 120]
        if n % 4 == 1:
            aces.insert(n % 50, f"access-list outside_in extended permit udp any object-group "
                                f"WEB eq {2000 + n}")
        members = GROUP_MEMBERS[:1 + n % len(GROUP_MEMBERS)]
        text = ("hostname fw01\n" + OUTSIDE_DMZ + "object-group network WEB\n" +
                "".join(f" network-object host {m}\n" for m in members) + "\n".join(aces) +
                "\naccess-group outside_in in interface outside\n")
        texts.append((f"2014-{6 + n // 28:02d}-{n % 28 + 1:02d} 00:00:00", text,
                      f"r{n}.cfg" if n % 3 == 0 else "fw01.cfg"))
    return texts


def stored_history(tmp_path, count: int) -> tuple:
    """long_history(count) built and stored: (newest, its older revisions, the database)."""
    newest, older = build_history([(since, file, read(text, file))
                                   for since, text, file in long_history(count)])
    db = str(tmp_path / "h.db")
    save_firewalls(db, [newest], {newest.name: older})
    return newest, older, db


def test_a_long_historys_older_revisions_are_stored_as_changes_and_load_in_any_order(tmp_path):
    newest, older, db = stored_history(tmp_path, 40)
    sizes, whole = stored_sizes(db, newest.name)
    assert len(sizes) == len(older) == 39
    assert whole == [n for n in range(len(older)) if n % SNAPSHOT_EVERY == 0] == [0, 16, 32]
    # a change of one or two ACEs is a small part of a whole revision
    assert max(size for n, size in sizes.items() if n not in whole) * 4 < \
        min(sizes[n] for n in whole)
    want = [older[n].to_json() for n in range(len(older))]
    order = list(range(len(older)))
    random.Random(5).shuffle(order)
    loader = RevisionLoader(db, newest.name)
    assert [loader(n).to_json() for n in order] == [want[n] for n in order]
    assert [RevisionLoader(db, newest.name)(n).to_json() for n in order] == \
        [want[n] for n in order]


def stored_sizes(db: str, name: str):
    """({older revision: its stored size}, the revisions stored whole)."""
    prefix = f"{REVISION_PREFIX}{name}:"
    with sqlite3.connect(db) as conn:
        found = {int(key[len(prefix):]): value for key, value in conn.execute(
            f'SELECT key, value FROM "{TABLE}" WHERE key LIKE ?', (prefix + "%",))}
    return ({n: len(value) for n, value in found.items()},
            sorted(n for n, value in found.items() if "base" not in json.loads(value)))


def test_a_long_chain_of_changes_loads_without_deep_recursion(tmp_path, monkeypatch):
    # (a database whose revisions are all changes but the first: made in turn, not by a
    # call per change, so no chain is too long for Python's stack)
    monkeypatch.setattr(history_module, "SNAPSHOT_EVERY", 10_000)
    newest, older, db = stored_history(tmp_path, 40)
    assert stored_sizes(db, newest.name)[1] == [0]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 30)        # 38 changes deep, loaded alone
    try:
        loaded = RevisionLoader(db, newest.name)(38).to_json()
    finally:
        sys.setrecursionlimit(limit)
    assert loaded == older[38].to_json()


@pytest.mark.parametrize("damage", ["base", "run"])
def test_a_damaged_change_of_a_stored_revision_is_a_clear_error(tmp_path, damage):
    newest, older, db = stored_history(tmp_path, 4)
    key = f"{REVISION_PREFIX}{newest.name}:2"
    with sqlite3.connect(db) as conn:
        value = json.loads(conn.execute(f'SELECT value FROM "{TABLE}" WHERE key = ?',
                                        (key,)).fetchone()[0])
        if damage == "base":
            value["base"] = 2
        else:
            value["acls"][0]["runs"] = [[500, 3, 0, 0, 0]]
        conn.execute(f'UPDATE "{TABLE}" SET value = ? WHERE key = ?', (json.dumps(value), key))
    assert RevisionLoader(db, newest.name)(1).to_json() == older[1].to_json()
    with pytest.raises(DatabaseError, match="corrupt"):
        RevisionLoader(db, newest.name)(2)


def test_the_random_histories_meet_what_the_builder_must_get_right():
    # the reference test is only as good as what its histories hold
    seen = {"renamed": 0, "retired": 0, "written again": 0, "members changed": 0,
            "deduplicated": 0}
    for seed in range(150):
        texts = random_history(seed)
        newest, older = build_history([(s, f, read(t, f)) for s, t, f in texts])
        names = {firewall(t).name for _, t, _ in texts}
        seen["renamed"] += len(names) > 1
        seen["retired"] += bool(newest.history.retired)
        seen["written again"] += bool(newest.history.ace_periods)
        seen["members changed"] += bool(newest.history.rule_since)
        seen["deduplicated"] += len(older) + 1 < len(texts)
    assert all(count >= 10 for count in seen.values()), seen


def test_a_builder_refuses_a_revision_older_than_the_one_before():
    builder = HistoryBuilder()
    builder.add("2014-06-10 00:00:00", "b.cfg", firewall(random_config(random.Random(1), "fw01")))
    with pytest.raises(ValueError, match="given after"):
        builder.add("2014-06-01 00:00:00", "a.cfg",
                    firewall(random_config(random.Random(2), "fw01")))


def test_an_older_revisions_aces_keep_a_file_line_that_is_not_its_files_line():
    # stored as the line of the revision's file where they are that; else as written
    old = read(random_config(random.Random(3), "fw01"), "a.cfg")
    odd = ["b.cfg:7", "a.cfg:007", "a.cfg:x", "a.cfg:12"]
    for ace, source in zip(old.aces(), odd):
        ace.source = source
    newest, older = build_history([("2014-06-01 00:00:00", "a.cfg", old),
                                   ("2014-06-02 00:00:00", "b.cfg", read(WEB_ONLY, "b.cfg"))])
    assert [a.source for a in older[0].aces()][:4] == odd
    assert [where for _, _, _, where in older.stored(0)["acls"][0]["entries"]][:4] == \
        ["b.cfg:7", "a.cfg:007", "a.cfg:x", 12]


def test_places_not_of_their_files_lines_are_stored_alike_as_a_change(tmp_path):
    # where the revision before had them as its file's lines, or as other places
    config = random_config(random.Random(3), "fw01")
    places = [["a.cfg:3", "b.cfg:7", "a.cfg:x", "b.cfg:7"],
              ["b.cfg:7", "a.cfg:4", "c.cfg:7", "b.cfg:9"]]
    revisions = []
    texts = [config, config + "access-list dmz_in extended permit udp any any eq 53\n", WEB_ONLY]
    for day, (text, sources) in enumerate(zip(texts, places + [None]), 1):
        revision = read(text, "a.cfg")
        for ace, source in zip(revision.aces(), sources or []):
            ace.source = source
        revisions.append((f"2014-06-0{day} 00:00:00", f"r{day}.cfg", revision))
    newest, older = build_history(revisions)
    db = str(tmp_path / "h.db")
    save_firewalls(db, [newest], {newest.name: older})
    assert stored_sizes(db, newest.name)[1] == [0]          # revision 1 is a change
    assert [a.source for a in RevisionLoader(db, newest.name)(1).aces()][:4] == places[1]


WEB_ONLY = ("hostname fw01\n" + OUTSIDE_DMZ + "object-group network WEB\n network-object host "
            "172.16.1.10\n" + TEXTS[0] + "\naccess-group outside_in in interface outside\n")
