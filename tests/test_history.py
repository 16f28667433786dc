"""Config history: each log line is judged by the ruleset in force when it was written, and
an ACE keeps its hits while its ACL name and text stay the same, wherever its line moves."""
import gc
import json
import os
import random
import subprocess
import sys
import tracemalloc

import pytest
from conftest import OUTSIDE_DMZ, built, cli_runner, firewall

from ruleset_analysis import matcher
from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.asa.config import ConfigError
from ruleset_analysis.cli import main
from ruleset_analysis.database import HISTORY_ACES_PREFIX, load_firewalls, save_firewalls
from ruleset_analysis.history import build_history
from ruleset_analysis.matcher import KEEP_OLDER
from ruleset_analysis.preprocess import read_firewalls
from ruleset_analysis.records import collect
from ruleset_analysis.report import Filters, build_report
from ruleset_analysis.revisions import split_spec

HEAD = OUTSIDE_DMZ + """
object network web01
 host 172.16.1.10
object-group network WEB
 network-object object web01
"""
WEB = "access-list outside_in extended permit tcp any object-group WEB eq https"
SSH = "access-list outside_in extended permit tcp any host 172.16.1.11 eq ssh"
WIDE = "access-list outside_in extended permit tcp any 172.16.1.0 255.255.255.0"
BIND = "access-group outside_in in interface outside"


def config(*aces: str, head: str = HEAD) -> str:
    return head + "\n".join(aces + (BIND,)) + "\n"


def history(*revisions):
    """(since, config text) pairs -> the newest firewall, with its history."""
    newest, _ = build_history([(since, f"rev{n}.cfg", firewall(text))
                               for n, (since, text) in enumerate(revisions)])
    return newest



def test_retired_aces_are_numbered_alike_in_every_process():
    # Results are keyed by a retired ACE's number, and a report rebuilds the numbering
    # (rebase) in a process of its own: several ACEs retired by one change, every hash seed.
    removed = [f"access-list outside_in extended permit tcp any host 172.16.1.{n} eq {port}"
               for n in range(20, 32) for port in ("ssh", "https")]
    script = (
        "import json, sys\n"
        "from conftest import firewall\n"
        "from ruleset_analysis.history import build_history\n"
        "old, new = json.load(sys.stdin)\n"
        "newest, _ = build_history([('2014-06-01 00:00:00', 'a', firewall(old)),\n"
        "                           ('2014-06-10 00:00:00', 'b', firewall(new))])\n"
        "print(json.dumps([[r.number, r.text] for r in newest.history.retired]))\n")
    given = json.dumps([config(WEB, *removed), config(WEB)])
    numbered = {subprocess.run([sys.executable, "-c", script], input=given, text=True,
                               capture_output=True, check=True,
                               cwd=os.path.dirname(__file__),
                               env=dict(os.environ, PYTHONHASHSEED=str(seed))).stdout
                for seed in range(4)}
    assert len(numbered) == 1
    assert [text for _, text in json.loads(numbered.pop())] == sorted(removed)

def connection(when: str, port: int) -> str:
    """A connection to the web server (443) or the SSH host (22)."""
    host = "172.16.1.11" if port == 22 else "172.16.1.10"
    return built("inbound", "TCP", "outside:198.51.100.7/51000", f"dmz:{host}/{port}",
                 when=when)


def report_of(newest, lines, **filters):
    analyzer = LineAnalyzer({newest.name: newest}, "2014")
    for line in lines:
        analyzer.add(line)
    return build_report({newest.name: newest}, collect(analyzer.finish()),
                        filters=Filters(**filters))


def rule(report, text):
    return next(r for r in report["rules"] if r["text"] == text)


def daily(first_day: int, last_day: int, port: int = 443) -> list:
    """One connection a day in June 2014: logs covering those days."""
    return [connection(f"Jun {day:02d} 2014 12:00:00", port)
            for day in range(first_day, last_day + 1)]


# -- matching by time ----------------------------------------------------------------------
def test_an_ace_inserted_mid_period_gets_hits_only_after_it_took_effect():
    newest = history(("2014-06-01 00:00:00", config(WIDE)),
                     ("2014-06-10 00:00:00", config(SSH, WIDE)))
    lines = [connection("Jun 05 2014 12:00:00", 22), connection("Jun 12 2014 12:00:00", 22)]
    report = report_of(newest, lines)
    ssh, wide = rule(report, SSH), rule(report, WIDE)
    assert (ssh["hits"], ssh["first_seen"]) == (1, "2014-06-12 12:00:00")
    assert (wide["hits"], wide["last_seen"]) == (1, "2014-06-05 12:00:00")
    assert ssh["since"] == "2014-06-10 00:00:00" and wide["since"] is None


def test_an_ace_younger_than_the_unused_horizon_is_too_new_to_judge():
    newest = history(("2014-05-01 00:00:00", config(WEB)),
                     ("2014-06-20 00:00:00", config(WEB, SSH)))
    report = report_of(newest, daily(1, 30), unused_since=20, as_of="2014-06-30")
    ssh = rule(report, SSH)
    assert ssh["status"] == "too new to judge" and not ssh["unused"]
    assert "2014-06-20" in ssh["reason"]


def test_an_ace_older_than_the_horizon_is_judged_as_before():
    newest = history(("2014-05-01 00:00:00", config(WEB)),
                     ("2014-05-20 00:00:00", config(WEB, SSH)))
    report = report_of(newest, daily(1, 30), unused_since=20, as_of="2014-06-30")
    assert rule(report, SSH)["status"] == "unused"


def test_without_a_horizon_a_young_ace_is_judged_over_its_own_life():
    newest = history(("2014-06-01 00:00:00", config(WEB)),
                     ("2014-06-20 00:00:00", config(WEB, SSH)))
    report = report_of(newest, daily(1, 30))
    ssh = rule(report, SSH)
    assert ssh["status"] == "unused"
    assert "2014-06-20 .. 2014-06-30 (11 days)" in ssh["reason"]


def test_a_young_ace_with_no_logs_since_it_took_effect_has_no_data():
    newest = history(("2014-06-01 00:00:00", config(WEB)),
                     ("2014-07-01 00:00:00", config(WEB, SSH)))
    ssh = rule(report_of(newest, daily(1, 30)), SSH)
    assert ssh["status"] == "no data" and not ssh["unused"]


def test_an_ace_removed_mid_period_keeps_its_hits_and_a_later_ace_gets_none_of_them():
    newest = history(("2014-06-01 00:00:00", config(SSH, WIDE)),
                     ("2014-06-10 00:00:00", config(WIDE)))
    lines = [connection("Jun 05 2014 12:00:00", 22), connection("Jun 06 2014 12:00:00", 22)]
    report = report_of(newest, lines)
    assert rule(report, WIDE)["hits"] == 0
    [removed] = report["removed"]
    assert (removed["text"], removed["hits"]) == (SSH, 2)
    assert removed["periods"] == [["2014-06-01 00:00:00", "2014-06-10 00:00:00"]]
    assert (removed["first_seen"], removed["last_seen"]) == ("2014-06-05 12:00:00",
                                                             "2014-06-06 12:00:00")


def test_hits_follow_a_reordered_ace_not_its_line():
    newest = history(("2014-06-01 00:00:00", config(SSH, WEB)),
                     ("2014-06-10 00:00:00", config(WEB, SSH)))
    lines = [connection("Jun 05 2014 12:00:00", 22), connection("Jun 05 2014 12:00:01", 443),
             connection("Jun 05 2014 12:00:02", 443)]
    report = report_of(newest, lines)
    assert (rule(report, WEB)["line"], rule(report, WEB)["hits"]) == (1, 2)
    assert (rule(report, SSH)["line"], rule(report, SSH)["hits"]) == (2, 1)
    assert report["removed"] == []


def test_the_same_flow_meets_the_revision_in_force_each_time():
    # a shadowing ACE inserted in front: the flow's cached verdict must not carry over
    newest = history(("2014-06-01 00:00:00", config(WIDE)),
                     ("2014-06-10 00:00:00", config(WEB, WIDE)))
    lines = [connection(f"Jun {day:02d} 2014 12:00:00", 443) for day in (5, 6, 12, 13)]
    report = report_of(newest, lines)
    assert (rule(report, WIDE)["hits"], rule(report, WEB)["hits"]) == (2, 2)


def test_a_renamed_object_keeps_its_member_and_its_hits():
    renamed = HEAD.replace("web01", "web-prod-01")
    newest = history(("2014-06-01 00:00:00", config(WEB)),
                     ("2014-06-10 00:00:00", config(WEB, head=renamed)))
    report = report_of(newest, [connection("Jun 05 2014 12:00:00", 443),
                                connection("Jun 12 2014 12:00:00", 443)])
    web = rule(report, WEB)
    assert web["objects"][0]["members"]["destination"] == ["WEB", "web-prod-01"]
    assert (web["objects"][0]["hits"], web["objects"][0]["since"]) == (2, None)
    assert web["removed_member_hits"] == 0


def test_a_member_whose_address_changed_is_a_new_member_and_too_new_to_judge():
    moved = HEAD.replace("host 172.16.1.10", "host 172.16.1.12")
    newest = history(("2014-05-01 00:00:00", config(WEB)),
                     ("2014-06-20 00:00:00", config(WEB, head=moved)))
    report = report_of(newest, daily(1, 30), unused_since=20, as_of="2014-06-30")
    web = rule(report, WEB)
    assert web["removed_member_hits"] == 19 and web["hits"] == 19
    assert web["objects"][0]["since"] == "2014-06-20 00:00:00"
    [group] = [g for g in report["groups"] if g["group"] == "WEB"]
    assert group["unused"] == []
    assert any("too new to judge" in why for why in group["not_evaluated"])


def test_a_removed_ace_shows_the_services_of_the_connections_its_list_leaves_out():
    newest = history(("2014-06-01 00:00:00", config(SSH)),
                     ("2014-06-20 00:00:00", config(WEB)))
    clients = [built("inbound", "TCP", f"outside:198.51.100.{n}/51000", "dmz:172.16.1.11/22",
                     when="Jun 12 2014 12:00:00") for n in range(1, 9)]
    analyzer = LineAnalyzer({newest.name: newest}, "2014", max_connections=2)
    for line in clients:
        analyzer.add(line)
    report = build_report({newest.name: newest}, collect(analyzer.finish()),
                          filters=Filters())
    [removed] = report["removed"]
    assert removed["hits"] == 8 and len(removed["connections"]) <= 2
    [service] = removed["services"]
    assert (service["destination"], service["port"]) == ("172.16.1.11", 22)
    assert service["hits"] + sum(c["count"] for c in removed["connections"]) == 8


def test_lines_before_the_first_revision_are_matched_against_it_and_counted():
    newest = history(("2014-06-10 00:00:00", config(SSH)),
                     ("2014-06-20 00:00:00", config(WEB)))
    lines = [connection("Jun 05 2014 12:00:00", 22), connection("Jun 05 2014 12:00:00", 22),
             connection("Jun 12 2014 12:00:00", 22)]
    report = report_of(newest, lines)
    assert report["removed"][0]["hits"] == 3
    fw = report["firewalls"][0]
    assert fw["before_first"] == 2
    assert any("2 line(s) dated before the first revision" in note for note in fw["notes"])


def test_lines_without_a_time_meet_the_newest_revision_and_the_report_says_so():
    newest = history(("2014-06-01 00:00:00", config(SSH)),
                     ("2014-06-10 00:00:00", config(WEB)))
    line = connection("Jun 05 2014 12:00:00", 443).replace("Jun 05 2014 12:00:00 ", "")
    report = report_of(newest, [line] + daily(1, 2, port=22))
    assert rule(report, WEB)["untimed_hits"] == 1
    notes = report["firewalls"][0]["notes"]
    assert any("newest revision" in note for note in notes)


def test_an_older_revision_is_loaded_only_when_a_line_needs_it():
    newest = history(("2014-06-01 00:00:00", config(SSH)),
                     ("2014-06-10 00:00:00", config(WEB)))
    loaded = []
    load = newest.history.load
    newest.history.load = lambda n: loaded.append(n) or load(n)
    analyzer = LineAnalyzer({newest.name: newest}, "2014")
    analyzer.add(connection("Jun 12 2014 12:00:00", 443))
    assert loaded == []
    analyzer.add(connection("Jun 05 2014 12:00:00", 22))
    analyzer.add(connection("Jun 06 2014 12:00:00", 22))
    assert loaded == [0]


def many_revisions(days: int):
    """A history of one revision a day, each with its own ACE (port 1000 + day) beside SSH and
    WEB, and lines of every day on each of the three."""
    newest = history(*[(f"2014-06-{day:02d} 00:00:00",
                        config(SSH, WEB, f"access-list outside_in extended permit tcp any host "
                                         f"172.16.1.10 eq {1000 + day}"))
                       for day in range(1, days + 1)])
    lines = [connection(f"Jun {day:02d} 2014 12:{minute:02d}:00", port)
             for day in range(1, days + 1) for minute, port in enumerate((22, 443, 1000 + day))]
    return newest, lines


def test_a_task_that_meets_many_older_revisions_holds_only_the_last_few_it_met():
    newest, lines = many_revisions(20)
    analyzer = LineAnalyzer({newest.name: newest}, "2014")
    [timeline] = analyzer.timelines.values()
    for line in lines:
        analyzer.add(line)
        held = [n for n, m in enumerate(timeline.matchers[:-1]) if m is not None]
        assert len(held) <= KEEP_OLDER and len(timeline.loaded) <= KEEP_OLDER + 1
    assert held == list(range(19 - KEEP_OLDER, 19))


def test_an_older_revision_let_go_and_met_again_gives_the_same_results(monkeypatch):
    # lines out of time order: each revision met again after others took its place
    newest, lines = many_revisions(12)
    shuffled = lines[:]
    random.Random(7).shuffle(shuffled)

    def records(keep):
        monkeypatch.setattr(matcher, "KEEP_OLDER", keep)
        analyzer = LineAnalyzer({newest.name: newest}, "2014")
        for line in shuffled:
            analyzer.add(line)
        return sorted(json.dumps(r) for r in analyzer.finish())
    assert records(1) == records(100)


# -- revisions in ----------------------------------------------------------------------------
def test_revisions_that_match_alike_are_one():
    # a change outside the ACLs (a new interface description) is not a ruleset change
    newest = history(("2014-06-01 00:00:00", config(WEB)),
                     ("2014-06-05 00:00:00", config(WEB) + "! a comment\n"),
                     ("2014-06-10 00:00:00", config(WEB, SSH)))
    assert [r.since for r in newest.history.older] == ["2014-06-01 00:00:00"]


def test_revisions_read_from_other_files_that_match_alike_are_one(tmp_path):
    # as RANCID commits them: every commit another file revision, most changes outside the ACLs
    write(str(tmp_path / "fw01" / "2014-06-01T0000.cfg"), "hostname fw01\n" + config(WEB))
    write(str(tmp_path / "fw01" / "2014-06-05T0000.cfg"),
          "hostname fw01\n" + config(WEB) + "ntp server 192.0.2.123\n")
    write(str(tmp_path / "fw01" / "2014-06-07T0000.cfg"),
          "hostname fw01\n! a comment line: every ACE a line further down the file\n" +
          config(WEB))
    write(str(tmp_path / "fw01" / "2014-06-10T0000.cfg"), "hostname fw01\n" + config(WEB, SSH))
    [newest], older = read_firewalls([str(tmp_path / "fw01")])
    assert [r.since for r in newest.history.older] == ["2014-06-01 00:00:00"]
    # one revision from the first's time, as the last of them read it (its file:line)
    assert older["fw01"][0].acls["outside_in"].entries[0].source.startswith(
        str(tmp_path / "fw01" / "2014-06-07T0000.cfg:"))
    assert newest.history.older[0].source == str(tmp_path / "fw01" / "2014-06-07T0000.cfg")


def test_a_stored_history_shares_identical_aces_and_loads_back(tmp_path):
    revisions = [(f"2014-06-{day:02d} 00:00:00", f"r{day}.cfg",
                  firewall(config(WEB, *([SSH] * (day % 2)), WIDE + f" eq {1000 + day}")))
                 for day in range(1, 13)]
    newest, older = build_history(revisions)
    db = str(tmp_path / "h.db")
    save_firewalls(db, [newest], {newest.name: older})
    loaded = load_firewalls(db)["fw01"]
    assert loaded.fingerprint() == newest.fingerprint()
    assert loaded.history.starts == newest.history.starts
    again = loaded.history.load(3)
    assert [a.text for a in again.aces()] == [a.text for a in older[3].aces()]
    assert [a.line for a in again.aces()] == [a.line for a in older[3].aces()]
    from ruleset_analysis.database import _read
    [shared] = _read(db, [HISTORY_ACES_PREFIX + "fw01"])
    # WEB and SSH are stored once for the eleven older revisions; WIDE differs in each
    assert len(shared) == 2 + 11


def test_a_history_changes_the_fingerprint_so_older_results_are_refused():
    single = firewall(config(WEB))
    newest = history(("2014-06-01 00:00:00", config(SSH)), ("2014-06-10 00:00:00", config(WEB)))
    assert single.fingerprint() != newest.fingerprint()


def test_a_time_after_at_names_a_revision():
    assert split_spec("fw01.cfg@2014-03-01T12:00") == ("fw01.cfg", "2014-03-01 12:00:00")
    assert split_spec("fw01.cfg") == ("fw01.cfg", None)
    with pytest.raises(ConfigError, match="not a time"):
        split_spec("fw01.cfg@yesterday")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def test_a_historys_older_revisions_store_each_group_definition_once(tmp_path):
    # ADMINS is alike in the two older revisions, WEB gained a member between them
    head = HEAD + "object-group network ADMINS\n network-object host 10.9.9.9\n"
    grown = head.replace(" network-object object web01\n",
                         " network-object object web01\n network-object host 172.16.1.12\n")
    admins = "access-list outside_in extended permit tcp object-group ADMINS any eq ssh"
    for day, text, more in ((1, head, ()), (5, grown, ()), (10, grown, (WIDE,))):
        write(str(tmp_path / "fw01" / f"2014-06-{day:02d}T0000.cfg"),
              "hostname fw01\n" + config(SSH, WEB, admins, *more, head=text))
    [newest], older = read_firewalls([str(tmp_path / "fw01")])
    first, second = (older["fw01"].stored(n)["groups"] for n in (0, 1))
    assert first["ADMINS"] == second["ADMINS"] and first["WEB"] != second["WEB"]
    assert len(older["fw01"].groups) == 3
    assert older["fw01"][1].groups == newest.groups and older["fw01"][0].groups != newest.groups


def held_bytes(make):
    """What the value ``make()`` returns holds (tracemalloc), and the value."""
    gc.collect()
    tracemalloc.start()
    try:
        value = make()
        gc.collect()
        return tracemalloc.get_traced_memory()[0], value
    finally:
        tracemalloc.stop()


def test_a_long_history_holds_each_older_revision_in_a_fraction_of_its_size(tmp_path):
    # A year of daily revisions is read and stored with only the newest held whole: an older
    # one held whole (its expansions shared with the one before) took a quarter of its size.
    groups = "".join(f"object-group network g{g}\n" + "".join(
        f" network-object host 10.{g}.{i}.1\n" for i in range(10)) for g in range(30))
    rows = [f"access-list inside_in extended permit tcp object-group g{n % 30} "
            f"object-group g{(n * 7 + 1) % 30} eq {1000 + n}" for n in range(200)]

    def revision(day):         # each day's change: one ACE removed, another written again
        return ("hostname fw01\ninterface Gi0/0\n nameif inside\n security-level 100\n" +
                groups + "\n".join(r for n, r in enumerate(rows) if n % 25 != day % 25) +
                "\naccess-group inside_in in interface inside\n")
    for day in range(1, 13):
        write(str(tmp_path / "fw01" / f"2014-06-{day:02d}T0000.cfg"), revision(day))
    whole, _ = held_bytes(lambda: firewall(revision(1)))
    few, _ = held_bytes(lambda: read_firewalls([str(tmp_path / "fw01" / "2014-06-01T0000.cfg@"
                                                     "2014-06-01T0000"),
                                                str(tmp_path / "fw01" / "2014-06-02T0000.cfg@"
                                                     "2014-06-02T0000")]))
    many, (_, older) = held_bytes(lambda: read_firewalls([str(tmp_path / "fw01")]))
    assert len(older["fw01"]) == 11
    assert (many - few) / 10 < 0.1 * whole, ((many - few) / 10, whole)


def test_a_directory_of_dated_files_is_one_firewalls_history(tmp_path):
    write(str(tmp_path / "fw01" / "2014-06-01T0000.cfg"), "hostname fw01\n" + config(SSH))
    write(str(tmp_path / "fw01" / "2014-06-10T1200.cfg"), "hostname fw01\n" + config(WEB))
    [newest], older = read_firewalls([str(tmp_path / "fw01")])
    assert newest.history.since == "2014-06-10 12:00:00" and len(older["fw01"]) == 1


def test_firewalls_keep_the_order_they_were_given_in_though_read_in_time_order(tmp_path):
    # undated ones first, as given; then each history where its first revision was given
    for name in ("fw01", "fw02", "fw03"):
        write(str(tmp_path / f"{name}.cfg"), f"hostname {name}\n" + config(WEB))
    given = [str(tmp_path / "fw02.cfg") + "@2014-06-10T0000", str(tmp_path / "fw01.cfg"),
             str(tmp_path / "fw03.cfg") + "@2014-06-01T0000",
             str(tmp_path / "fw02.cfg") + "@2014-06-01T0000"]
    firewalls, older = read_firewalls(given)
    assert [f.name for f in firewalls] == ["fw01", "fw02", "fw03"]
    assert [f.history is None for f in firewalls] == [True, False, False]


def test_a_file_without_a_time_in_a_revision_directory_is_refused(tmp_path):
    write(str(tmp_path / "fw01" / "2014-06-01.cfg"), "hostname fw01\n" + config(SSH))
    write(str(tmp_path / "fw01" / "current.cfg"), "hostname fw01\n" + config(WEB))
    with pytest.raises(ConfigError, match="current.cfg: no time in the file name"):
        read_firewalls([str(tmp_path / "fw01")])


def test_two_revisions_of_one_firewall_at_the_same_time_are_refused(tmp_path):
    write(str(tmp_path / "a.cfg"), "hostname fw01\n" + config(SSH))
    write(str(tmp_path / "b.cfg"), "hostname fw01\n" + config(WEB))
    with pytest.raises(ConfigError, match="at the same time"):
        read_firewalls([f"{tmp_path / 'a.cfg'}@2014-06-01", f"{tmp_path / 'b.cfg'}@2014-06-01"])


def git(repo, *args, when=None):
    env = dict(os.environ, GIT_AUTHOR_NAME="rancid", GIT_AUTHOR_EMAIL="rancid@example.net",
               GIT_COMMITTER_NAME="rancid", GIT_COMMITTER_EMAIL="rancid@example.net")
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


@pytest.fixture
def rancid_repo(tmp_path):
    """A RANCID-style repository: GROUP/configs/DEVICE, one commit per change."""
    repo = tmp_path / "rancid"
    os.makedirs(repo / "firewalls" / "configs")
    git(repo, "init", "-q")
    path = repo / "firewalls" / "configs" / "fw01"
    for when, text in (("2014-06-01T00:00:00+0200", config(SSH, WIDE)),
                       ("2014-06-10T12:00:00+0200", config(WIDE))):
        write(str(path), "!RANCID-CONTENT-TYPE: cisco\n!\nhostname fw01\n" + text)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "changes", when=when)
    return repo


def test_git_history_of_a_rancid_repository_gives_each_commit_as_a_revision(rancid_repo,
                                                                              tmp_path):
    db = str(tmp_path / "h.db")
    result = cli_runner().invoke(main, ["preprocess", "--git",
                                        str(rancid_repo / "firewalls" / "configs"), "--db", db])
    assert result.exit_code == 0, result.output
    fw = load_firewalls(db)["fw01"]
    # the committer's own clock, as the collector wrote it
    assert fw.history.starts == ["2014-06-01 00:00:00", "2014-06-10 12:00:00"]
    assert [r.text for r in fw.history.retired] == [SSH]
    log = tmp_path / "fw01.log"
    log.write_text(connection("Jun 05 2014 12:00:00", 22) + "\n")
    out = tmp_path / "r.json"
    result = cli_runner().invoke(main, ["run", str(log), "--db", db, "--output",
                                        str(tmp_path / "results")])
    assert result.exit_code == 0, result.output
    result = cli_runner().invoke(main, ["report", str(tmp_path / "results"), "--db", db,
                                        "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert [(r["text"], r["hits"]) for r in report["removed"]] == [(SSH, 1)]


def test_git_outside_a_work_tree_is_one_clear_error(tmp_path):
    write(str(tmp_path / "plain" / "fw01"), config(SSH))
    result = cli_runner().invoke(main, ["preprocess", "--git", str(tmp_path / "plain"),
                                        "--db", str(tmp_path / "h.db")])
    assert result.exit_code != 0
    assert "--git" in result.output and len(result.output.strip().splitlines()) == 1


# -- every format shows it -------------------------------------------------------------------
@pytest.fixture
def history_db(tmp_path):
    """fw01: SSH removed and a WEB ACE inserted on 2014-06-10; logs of both periods."""
    write(str(tmp_path / "fw01" / "2014-06-01T0000.cfg"), "hostname fw01\n" + config(SSH, WIDE))
    write(str(tmp_path / "fw01" / "2014-06-10T0000.cfg"), "hostname fw01\n" + config(WEB, WIDE))
    log = tmp_path / "fw01.log"
    log.write_text("\n".join([connection("Jun 05 2014 12:00:00", 22),
                              connection("Jun 12 2014 12:00:00", 443)]) + "\n")
    db = str(tmp_path / "h.db")
    assert cli_runner().invoke(main, ["preprocess", str(tmp_path / "fw01"), "--db", db]) \
        .exit_code == 0
    results = str(tmp_path / "results")
    assert cli_runner().invoke(main, ["run", str(log), "--db", db, "-o", results]).exit_code == 0
    return db, results


def report_in(history_db, fmt):
    db, results = history_db
    result = cli_runner().invoke(main, ["report", results, "--db", db, "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_text_report_lists_removed_aces_and_the_revisions(history_db):
    text = report_in(history_db, "text")
    assert "ACEs of older config revisions, removed since" in text
    assert "in force 2014-06-01 00:00:00 .. 2014-06-10 00:00:00: 1 hits" in text
    assert "2 config revision(s)" in text
    assert "In force since 2014-06-10 00:00:00 (config history)" in text


def test_the_csv_report_has_a_row_per_removed_ace_and_the_since_column(history_db):
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(report_in(history_db, "csv"))))
    [removed] = [r for r in rows if r["record"] == "removed"]
    assert (removed["text"], removed["hits"], removed["status"]) == (SSH, "1", "removed")
    [web] = [r for r in rows if r["record"] == "ace" and r["text"] == WEB]
    assert web["since"] == "2014-06-10 00:00:00"


def test_the_html_report_has_a_removed_section(history_db):
    html = report_in(history_db, "html")
    assert 'id="removed"' in html and "2014-06-01 00:00:00 .. 2014-06-10 00:00:00" in html


def test_history_lists_what_each_revision_changed(history_db):
    db, _ = history_db
    result = cli_runner().invoke(main, ["history", "--db", db])
    assert result.exit_code == 0, result.output
    assert f"+ outside_in line 1: {WEB}" in result.stdout
    assert f"- outside_in line 1: {SSH}" in result.stdout


def test_analyze_takes_a_directory_of_revisions(history_db, tmp_path):
    result = cli_runner().invoke(main, ["analyze", "-c", str(tmp_path / "fw01"),
                                        str(tmp_path / "fw01.log"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in json.loads(result.stdout)["removed"]] == [SSH]


def test_parse_log_shows_a_removed_aces_hit_by_its_text(history_db, tmp_path):
    db, _ = history_db
    result = cli_runner().invoke(main, ["parse-log", "--db", db, str(tmp_path / "fw01.log")])
    assert result.exit_code == 0, result.output
    first, second = [json.loads(line) for line in result.stdout.splitlines()]
    assert first["credited"][0]["retired"] == SSH and first["credited"][0]["line"] is None
    assert second["credited"][0]["line"] == 1


# -- the fast path across revisions ----------------------------------------------------------
DMZ_IN = "access-list dmz_in extended permit ip any any"
BIND_DMZ = "access-group dmz_in in interface dmz"


def from_dmz(when: str, port: int) -> str:
    """A connection a dmz host opens to the outside (through dmz_in)."""
    return built("outbound", "TCP", f"outside:192.0.2.9/{port}", "dmz:172.16.1.20/51000",
                 when=when)


def two_revisions(first: str, second: str):
    return history(("2014-06-01 00:00:00", config(*first.split("|"), DMZ_IN, BIND_DMZ)),
                   ("2014-06-10 00:00:00", config(*second.split("|"), DMZ_IN, BIND_DMZ)))


def test_a_flow_through_a_changed_acl_is_matched_again_in_the_new_revision():
    newest = two_revisions(WIDE, f"{SSH}|{WIDE}")
    before, after = "Jun 05 2014 12:00:00", "Jun 12 2014 12:00:00"
    # the SSH flow is learned in the first revision; in the second its header is known
    # (taught by another flow), the flow is not
    lines = [connection(before, 22), connection(before, 22), connection(after, 443),
             connection(after, 22)]
    report = report_of(newest, lines)
    assert rule(report, SSH)["hits"] == 1 and rule(report, WIDE)["hits"] == 3


def test_a_flow_through_unchanged_acls_keeps_its_verdict_without_a_new_evaluation():
    newest = two_revisions(WIDE, f"{SSH}|{WIDE}")       # dmz_in did not change
    analyzer = LineAnalyzer({newest.name: newest}, "2014")
    before, after = "Jun 05 2014 12:00:00", "Jun 12 2014 12:00:00"
    for line in (from_dmz(before, 53), from_dmz(before, 53), from_dmz(after, 80)):
        analyzer.add(line)
    evaluated = len(analyzer.flows)
    analyzer.add(from_dmz(after, 53))
    assert len(analyzer.flows) == evaluated          # inherited, not evaluated again
    report = build_report({newest.name: newest}, collect(analyzer.finish()))
    assert rule(report, DMZ_IN)["hits"] == 4


def test_reading_a_long_history_shows_progress_on_a_terminal(tmp_path):
    import io
    for day in (1, 2, 3):
        write(str(tmp_path / "fw01" / f"2014-06-0{day}.cfg"), "hostname fw01\n" + config(SSH))
    shown = io.StringIO()
    read_firewalls([str(tmp_path / "fw01")], progress=shown)
    assert "\rpreprocess: 3 of 3 configs read" in shown.getvalue()
    assert shown.getvalue().endswith("\n")


@pytest.mark.parametrize("args, message", [
    (["CFG@yesterday"], "'yesterday' after '@' is not a time"),
    (["CFG", "CFG@2014-06-01"], "several configs name the firewall fw01, dated and undated"),
    (["EMPTY"], "no config files in the directory"),
])
def test_a_bad_revision_argument_is_one_clear_line(tmp_path, args, message):
    write(str(tmp_path / "fw01.cfg"), "hostname fw01\n" + config(SSH))
    os.makedirs(tmp_path / "empty")
    args = [a.replace("CFG", str(tmp_path / "fw01.cfg")).replace("EMPTY", str(tmp_path / "empty"))
            for a in args]
    result = cli_runner().invoke(main, ["preprocess", *args, "--db", str(tmp_path / "h.db")])
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "h.db")


def test_an_ace_that_came_into_force_during_the_horizons_first_day_is_too_new():
    newest = history(("2014-05-01 00:00:00", config(WEB)),
                     ("2014-06-10 12:00:00", config(WEB, SSH)))
    report = report_of(newest, daily(1, 30), unused_since=20, as_of="2014-06-30")
    assert report["firewalls"][0]["horizon"]["start"] == "2014-06-10"
    assert rule(report, SSH)["status"] == "too new to judge"


# -- results of an earlier history -----------------------------------------------------------
NEW = "access-list outside_in extended permit tcp any host 172.16.1.12 eq smtp"
QUIET = "access-list outside_in extended permit tcp any host 172.16.1.13 eq ftp"


def run_then_grow(tmp_path, revisions: dict, lines: list, later: str):
    """Run the job on ``lines`` against fw01's ``revisions`` ({file name: config}); then the
    collector commits ``later`` (2014-06-15) and preprocess runs again. -> (db, results)"""
    fw = tmp_path / "fw01"
    for name, text in revisions.items():
        write(str(fw / name), "hostname fw01\n" + text)
    log = tmp_path / "fw01.log"
    log.write_text("\n".join(lines) + "\n")
    db, results = str(tmp_path / "h.db"), str(tmp_path / "results")
    assert cli_runner().invoke(main, ["preprocess", str(fw), "--db", db]).exit_code == 0
    assert cli_runner().invoke(main, ["run", str(log), "--db", db, "-o", results]).exit_code == 0
    write(str(fw / "2014-06-15T0000.cfg"), "hostname fw01\n" + later)
    assert cli_runner().invoke(main, ["preprocess", str(fw), "--db", db]).exit_code == 0
    return db, results


@pytest.fixture
def grown_history(tmp_path):
    """Results of a run against fw01's first two revisions; then a third was collected."""
    return run_then_grow(
        tmp_path, {"2014-06-01T0000.cfg": config(SSH, WIDE, QUIET),
                   "2014-06-10T0000.cfg": config(WEB, WIDE, QUIET)},
        [connection("Jun 05 2014 12:00:00", 22)] +
        [connection(f"Jun {d} 2014 12:00:00", 443) for d in range(11, 21)],
        config(NEW, WIDE, QUIET))


def grown_report(grown_history, *options):
    db, results = grown_history
    result = cli_runner().invoke(main, ["report", results, "--db", db, "--format", "json",
                                        *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_results_of_an_earlier_history_map_hits_to_the_aces_by_identity(grown_history):
    report = grown_report(grown_history)
    removed = {r["text"]: r["hits"] for r in report["removed"]}
    assert removed == {SSH: 1, WEB: 10}          # WEB was current then, removed since
    assert rule(report, WIDE)["line"] == 2 and report["unknown_results"] == []


def test_results_of_an_earlier_history_end_their_evidence_before_the_new_revision(
        grown_history):
    report = grown_report(grown_history)
    fw = report["firewalls"][0]
    assert fw["last"] == "2014-06-14"
    assert any("matched before the config revision of 2014-06-15" in n for n in fw["notes"])
    assert rule(report, NEW)["status"] == "no data" and not rule(report, NEW)["unused"]
    quiet = rule(report, QUIET)
    assert quiet["status"] == "unused" and "2014-06-05 .. 2014-06-14" in quiet["reason"]


def test_an_ace_removed_then_written_again_gets_back_the_hits_of_its_first_life(tmp_path):
    report = grown_report(run_then_grow(
        tmp_path, {"2014-06-01T0000.cfg": config(SSH, WIDE),
                   "2014-06-10T0000.cfg": config(WIDE)},
        [connection("Jun 05 2014 12:00:00", 22)], config(SSH, WIDE)))
    assert rule(report, SSH)["hits"] == 1 and report["removed"] == []
    assert rule(report, SSH)["since"] == "2014-06-15 00:00:00"
    assert rule(report, SSH)["periods"] == [["2014-06-01 00:00:00", "2014-06-10 00:00:00"],
                                            ["2014-06-15 00:00:00", ""]]


def test_results_of_a_history_rewritten_since_are_refused(grown_history, tmp_path):
    db, results = grown_history
    write(str(tmp_path / "fw01" / "2014-06-10T0000.cfg"), "hostname fw01\n" + config(WIDE))
    assert cli_runner().invoke(main, ["preprocess", str(tmp_path / "fw01"), "--db", db]) \
        .exit_code == 0
    result = cli_runner().invoke(main, ["report", results, "--db", db])
    assert result.exit_code != 0 and "another ruleset" in result.output


def test_results_of_an_earlier_history_follow_aces_that_swapped_lines(tmp_path):
    report = grown_report(run_then_grow(
        tmp_path, {"2014-06-01T0000.cfg": config(WEB, SSH)},
        [connection("Jun 05 2014 12:00:00", 443), connection("Jun 05 2014 12:00:01", 443),
         connection("Jun 05 2014 12:00:02", 22)], config(SSH, WEB)))
    assert (rule(report, SSH)["line"], rule(report, SSH)["hits"]) == (1, 1)
    assert (rule(report, WEB)["line"], rule(report, WEB)["hits"]) == (2, 2)


def test_a_history_is_never_stored_without_its_revisions(tmp_path):
    from ruleset_analysis.database import DatabaseError
    newest = history(("2014-06-01 00:00:00", config(SSH)), ("2014-06-10 00:00:00", config(WEB)))
    with pytest.raises(DatabaseError, match="1 older revisions to store, 0 given"):
        save_firewalls(str(tmp_path / "h.db"), [newest])
    assert not os.path.exists(tmp_path / "h.db")


def test_an_ace_that_came_into_force_during_the_logs_first_day_is_judged_over_its_life():
    newest = history(("2014-05-01 00:00:00", config(WEB)),
                     ("2014-06-01 12:00:00", config(WEB, SSH)))
    ssh = rule(report_of(newest, daily(1, 30)), SSH)
    assert ssh["status"] == "unused"
    assert ssh["reason"].startswith("no hit since it came into force at 2014-06-01 12:00:00")
