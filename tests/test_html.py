"""The HTML report, rendered in headless Chromium: what a person sees, not only the text."""
import os
import re
import shutil
import subprocess

import pytest
from conftest import SAMPLE_CONFIGS, SAMPLE_LOGS, cli_runner

from ruleset_analysis.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must have Chromium for the HTML tests (.ci/run installs it)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("html")
    db, results, page = tmp / "db", tmp / "results", tmp / "report.html"
    for args in (["preprocess", *SAMPLE_CONFIGS, "--db", db],
                 ["run", *SAMPLE_LOGS, "--db", db, "-o", results],
                 ["report", results, "--db", db, "--format", "html", "-o", page]):
        result = cli_runner().invoke(main, [str(a) for a in args])
        assert result.exit_code == 0, result.output
    return page


def browse(page, *extra, fragment=""):
    profile = page.parent / "profile"
    out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra,
                          f"file://{page}{fragment}"], capture_output=True, text=True,
                         timeout=120)
    return out.stdout


def hits_column(dom):
    table = dom.split('id="ruleset"')[1].split("</table>")[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    return [int(re.findall(r'data-value="(\d+)"', row)[1]) for row in rows]


def test_the_page_needs_nothing_from_the_network(page):
    text = page.read_text()
    assert not re.search(r'(src|href)="(https?:)?//', text)


def test_the_script_sorts_the_ruleset_in_the_browser(page):
    dom = browse(page, "--dump-dom", "--virtual-time-budget=3000", fragment="#sort=hits-desc")
    hits = hits_column(dom)
    assert len(hits) > 30 and hits == sorted(hits, reverse=True) and hits[0] > 1000
    assert 'data-sorted="3-desc"' in dom            # set by the script, not in the file
    assert 'data-sorted="' not in page.read_text()


def test_the_page_shows_charts_unused_members_and_suggestions(page):
    dom = browse(page, "--dump-dom", "--virtual-time-budget=3000")
    assert dom.count('<svg class="chart"') > 20 and dom.count("<rect") > 200
    members = dom.split('id="unused-members"')[1].split("</table>")[0]
    assert "198.51.100.0/24" in members and "network-object 198.51.100.0 255.255.255.0" in members
    assert "Tightening suggestions" in dom and "host 192.0.2.123 eq 123" in dom


def test_the_screenshot_is_not_blank(page, tmp_path):
    shot = tmp_path / "page.png"
    browse(page, f"--screenshot={shot}", "--window-size=1200,900")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 40_000     # blank is ~5 KB


def test_a_hostile_acl_name_never_runs_in_the_browser(tmp_path):
    payload = "x\"><img/src=x/onerror=document.title='PWNED'>"
    config = tmp_path / "fw.cfg"
    config.write_text(f"hostname fw01\naccess-list {payload} extended permit ip any any\n"
                      f"access-group {payload} in interface outside\n")
    log = tmp_path / "fw.log"
    log.write_text("Jun 06 2014 14:47:35 fw01 : %ASA-6-302013: Built inbound TCP connection 1 "
                   "for outside:192.0.2.1/5000 (192.0.2.1/5000) to dmz:10.0.0.1/80 "
                   "(10.0.0.1/80)\n")
    page = tmp_path / "report.html"
    result = cli_runner().invoke(main, ["analyze", "-c", str(config), str(log), "-r", "inline",
                                       "--format", "html", "-o", str(page)])
    assert result.exit_code == 0, result.output
    dom = browse(page, "--dump-dom", "--virtual-time-budget=3000")
    assert "<title>ruleset-analysis report</title>" in dom and "<title>PWNED" not in dom
    assert "<img" not in dom
