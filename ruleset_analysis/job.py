"""The MapReduce job: per-rule connection facts from firewall logs.

mapper   parse each line, match its flow (once per distinct flow), aggregate in memory, emit
         one record per ACE and the line counters at the end (in-mapper combining);
combiner and reducer merge records exactly; the reducer also caps each ACE's connection list.

The database reaches every task through mrjob's file option ``--db``, so the job runs unchanged
with ``-r inline``, ``-r local``, ``-r hadoop`` and as ``scripts/mapper.py | sort |
scripts/reducer.py``. Imports are absolute: mrjob runs this file as a script in its tasks.
"""
from __future__ import annotations

import gc

from mrjob.compat import jobconf_from_env
from mrjob.job import MRJob
from mrjob.protocol import StandardJSONProtocol

from ruleset_analysis.aggregate import quiet_collector
from ruleset_analysis.database import load_firewalls
from ruleset_analysis.options import JobOptions, add_to_parser
from ruleset_analysis.records import reduce_values, string_records


class RulesetAnalysisJob(MRJob):
    """Which rules of the firewalls' ACLs the logged connections hit, how often and when."""

    # The standard library's json on every machine: the bytes do not depend on which faster
    # JSON library a node has, and the mrjob-free streaming filters write the same ones.
    INTERNAL_PROTOCOL = StandardJSONProtocol
    OUTPUT_PROTOCOL = StandardJSONProtocol

    def configure_args(self):
        super().configure_args()
        self.add_file_arg("--db", default="accesslists.db",
                          help="ruleset database written by 'ruleset-analysis preprocess'")
        add_to_parser(self.add_passthru_arg)

    def mapper_init(self):
        # Logs stored one directory per firewall name their firewall in their path.
        path = jobconf_from_env("mapreduce.map.input.file")
        self.analyzer = JobOptions.of(self.options).analyzer(load_firewalls(self.options.db),
                                                              path)
        self.collecting = quiet_collector()

    def mapper(self, _, line):
        # Not a generator: mrjob takes None for "nothing to emit", which saves creating a
        # generator per line. Records leave at the end, or at a flush when memory is bounded.
        self.analyzer.add(line)
        if self.analyzer.full:
            return list(string_records(self.analyzer.emit()))
        return None

    def mapper_final(self):
        yield from string_records(self.analyzer.finish())
        if self.collecting:             # the inline runner goes on in this process
            gc.enable()

    def combiner(self, key, values):
        yield key, reduce_values(key, values, self.options.max_connections)

    def reducer(self, key, values):
        yield key, reduce_values(key, values, self.options.max_connections, finish=True)


if __name__ == "__main__":
    RulesetAnalysisJob.run()
