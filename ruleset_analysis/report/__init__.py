"""Reports: the job's results + the ruleset database -> what people who prune rulesets read.

``build.build_report`` makes the report (the JSON contract); ``judgement`` decides every
status, ``evidence`` what the logs can prove per firewall; one module per output format
renders it (text, json, csv, html, prune), and ``diff`` compares two JSON reports.
"""
from ..records import ResultsError, read_results
from .build import Filters, build_report, caveats, flow_text, visibility, window
from .judgement import Status

__all__ = ["Filters", "ResultsError", "Status", "build_report", "caveats", "flow_text",
           "read_results", "visibility", "window"]
