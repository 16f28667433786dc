#!/usr/bin/env python3
"""The job's mapper as a filter: log lines in, per-ACE records out. Needs no mrjob.

    cat FW.LOG | scripts/mapper.py --db accesslists.db | LC_ALL=C sort | scripts/reducer.py

On Hadoop Streaming nodes the package comes as ruleset_analysis.zip in the task's directory
(see scripts/run_hadoop_streaming.sh).
"""
import argparse
import os
import sys

for place in (os.path.join(os.getcwd(), "ruleset_analysis.zip"),
              os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)):
    if os.path.exists(place):
        sys.path.insert(0, place)

from ruleset_analysis.database import DatabaseError, load_firewalls  # noqa: E402
from ruleset_analysis.options import JobOptions, add_to_parser  # noqa: E402
from ruleset_analysis.streaming import map_lines  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="accesslists.db", help="ruleset database")
    add_to_parser(parser.add_argument, reducer=False)
    args = parser.parse_args()
    try:
        options = JobOptions.of(args)
        firewalls = load_firewalls(args.db)
        for record in map_lines(sys.stdin.buffer, firewalls, options):
            sys.stdout.write(record)
    except (DatabaseError, ValueError) as exc:
        sys.exit(f"mapper.py: {exc}")


if __name__ == "__main__":
    main()
