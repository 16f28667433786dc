"""The job's mapper, combiner and reducer as plain line filters, for Hadoop Streaming without
mrjob and for cat-pipe trials: `scripts/mapper.py` and `scripts/reducer.py` call these.

They write exactly what the MRJob writes (`KEY<TAB>VALUE`, both JSON from the standard
library), so results from either are read the same way and give the same report.
"""
from __future__ import annotations

import os
from itertools import groupby
from typing import Iterable, Iterator, Optional

from .aggregate import quiet_collector
from .asa.syslog import log_chunks
from .model import collector_paused
from .options import DEFAULTS, JobOptions
from .records import decode, encode, reduce_values, string_records


def map_lines(raw_lines, firewalls: dict, options: JobOptions = DEFAULTS) -> Iterator[str]:
    """A binary file (standard input) or an iterable of raw lines in, records out."""
    # Hadoop Streaming exports the split's file as mapreduce_map_input_file.
    path = os.environ.get("mapreduce_map_input_file") or os.environ.get("map_input_file")
    analyzer = options.analyzer(firewalls, path)
    with collector_paused():            # as it was again after the task (a test calls this)
        quiet_collector()
        add_lines = analyzer.add_lines
        for chunk in log_chunks(raw_lines):
            add_lines(chunk)
            if analyzer.full:
                yield from (encode(k, v) for k, v in string_records(analyzer.emit()))
        yield from (encode(k, v) for k, v in string_records(analyzer.finish()))


def reduce_lines(lines: Iterable[str], max_connections: Optional[int] = None,
                 finish: bool = True) -> Iterator[str]:
    """Sorted mapper output in, one merged record per key out: the reducer, or without
    ``finish`` the combiner. ``max_connections`` is the job's (the mapper's too)."""
    for _, group in groupby((line for line in lines if line.strip()),
                            key=lambda line: line.split("\t", 1)[0]):
        records = [decode(line) for line in group]
        key = records[0][0]
        yield encode(key, reduce_values(key, [value for _, value in records], max_connections,
                                        finish))


def package_zip(target: str) -> str:
    """Zip this package's sources to ``target``: what cluster tasks import it from."""
    import pathlib
    import zipfile
    root = pathlib.Path(__file__).resolve().parent
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for source in sorted(root.rglob("*.py")):
            archive.write(source, pathlib.Path("ruleset_analysis") / source.relative_to(root))
    return target


if __name__ == "__main__":         # python3 -m ruleset_analysis.streaming package OUT.zip
    import sys
    if len(sys.argv) != 3 or sys.argv[1] != "package":
        sys.exit("usage: python3 -m ruleset_analysis.streaming package OUT.zip")
    package_zip(sys.argv[2])
