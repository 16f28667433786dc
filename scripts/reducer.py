#!/usr/bin/env python3
"""The job's reducer (or, with --combine, its combiner) as a filter over sorted mapper output.
Needs no mrjob.
"""
import argparse
import io
import os
import sys

for place in (os.path.join(os.getcwd(), "ruleset_analysis.zip"),
              os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)):
    if os.path.exists(place):
        sys.path.insert(0, place)

from ruleset_analysis.options import add_to_parser  # noqa: E402
from ruleset_analysis.streaming import reduce_lines  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_to_parser(parser.add_argument, mapper=False)
    parser.add_argument("--combine", action="store_true",
                        help="merge only, finish nothing: the combiner")
    args = parser.parse_args()
    lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")
    for record in reduce_lines(lines, args.max_connections, finish=not args.combine):
        sys.stdout.write(record)


if __name__ == "__main__":
    main()
