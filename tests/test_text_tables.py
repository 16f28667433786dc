"""The text report's tables are tabulate's, byte for byte, without its per-cell type guess."""
import random

from tabulate import tabulate as reference

from ruleset_analysis.report import text
from ruleset_analysis.report.text import tabulate

CELLS = [0, 7, 1234567, -3, None, "", "fw01", "10.1.2.3", "2014-06-01 02:07:40", "tcp",
         "no hits", "443", "1,000", "1.5", 2.5, True, "any", "ip host 10.0.0.1", "-", " x ",
         "inf", "1e5", "1_000", " 12 ", "nan", "Infinity", "0x10", "1.2.3", "-.5", "+7",
         "\u00fcber", "\u6f22\u5b57", "\x1b[31mred\x1b[0m", "two\nlines", "tab\there"]


def made_by(function, rows, headers, options):
    """The table, or how making it failed: tabulate 0.9 (Python 3.9's) fails on more column
    alignments than columns, which the tables drawn here have where rows are ragged."""
    try:
        return function(rows, headers=headers, **options)
    except IndexError:
        return IndexError


def test_every_table_is_what_tabulate_makes_of_it(monkeypatch):
    aligned = []
    made = text._aligned
    monkeypatch.setattr(text, "_aligned", lambda *args: aligned.append(made(*args)) or
                        aligned[-1])
    rng = random.Random(4)
    for _ in range(4000):
        width = rng.randrange(1, 6)
        cells = rng.sample(CELLS, rng.randrange(1, 8))      # (few kinds: some take no guess)
        rows = [[rng.choice(cells) for _ in range(rng.randrange(1, width + 1)    # ragged too
                                                   if rng.random() < 0.1 else width)]
                for _ in range(rng.randrange(0, 6))]
        headers = [f"H{i}" for i in range(width)] if rng.random() < 0.7 else ()
        options = {"tablefmt": rng.choice(["simple", "plain"])}
        if rng.random() < 0.3:
            options["colalign"] = [rng.choice(["left", "right"]) for _ in range(width)]
        # (no row: every column is its header's width, so no alignment shows; tabulate 0.9,
        # Python 3.9's, fails on one)
        expected = options if rows else {"tablefmt": options["tablefmt"]}
        assert made_by(tabulate, rows, headers, options) == \
            made_by(reference, rows, headers, expected), (rows, headers, options)
    # (the tables it renders itself, and those it leaves to tabulate, are many)
    assert min(sum(a is not None for a in aligned), sum(a is None for a in aligned)) > 200
