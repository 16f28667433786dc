#!/usr/bin/env python3
"""The job's reducer as a filter: reads the sorted output of scripts/mapper.py.

Option: --max-connections (distinct connections kept per ACE).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from ruleset_analysis.job import RulesetAnalysisJob  # noqa: E402

if __name__ == "__main__":
    RulesetAnalysisJob(args=["--reducer", "--step-num=0"] + sys.argv[1:]).execute()
