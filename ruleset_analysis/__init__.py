"""ruleset-analysis: which firewall access-list rules are used, by what traffic, and when.

Data flow: ``asa.config`` (parse) -> ``expand`` (rules) -> ``database`` -> ``job`` (mrjob:
``asa.syslog`` parses lines, ``matcher`` finds the first matching rule, ``aggregate`` merges)
-> ``report``.
"""
__version__ = "0.1.0"
