#!/usr/bin/env python3
"""The job's mapper as a filter, for cat-pipe trial runs:

    cat FW.LOG | scripts/mapper.py --db accesslists.db | LC_ALL=C sort | scripts/reducer.py

Options are the job's: --db, --firewall, --year.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from ruleset_analysis.job import RulesetAnalysisJob  # noqa: E402

if __name__ == "__main__":
    RulesetAnalysisJob(args=["--mapper", "--step-num=0"] + sys.argv[1:]).execute()
