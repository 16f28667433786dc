"""The text report's tables are tabulate's, byte for byte, without its per-cell type guess."""
import random

from tabulate import tabulate as reference

from ruleset_analysis.report.text import tabulate

CELLS = [0, 7, 1234567, -3, None, "", "fw01", "10.1.2.3", "2014-06-01 02:07:40", "tcp",
         "no hits", "443", "1,000", "1.5", 2.5, True, "any", "ip host 10.0.0.1", "-", " x "]


def test_every_table_is_what_tabulate_makes_of_it():
    rng = random.Random(4)
    for _ in range(2000):
        width = rng.randrange(1, 6)
        rows = [[rng.choice(CELLS) for _ in range(rng.randrange(1, width + 1))]   # ragged too
                for _ in range(rng.randrange(0, 6))]
        headers = [f"H{i}" for i in range(width)] if rng.random() < 0.7 else ()
        fmt = rng.choice(["simple", "plain"])
        assert tabulate(rows, headers=headers, tablefmt=fmt) == \
            reference(rows, headers=headers, tablefmt=fmt), rows
