"""The same job on Spark (pyspark, local mode) gives the same report as the local runner."""
import json
import os

import pytest
from click.testing import CliRunner
from conftest import SAMPLE_CONFIGS, SAMPLE_LOGS

from ruleset_analysis.cli import main

try:
    import pyspark  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI must have pyspark for the Spark test (pip install '.[spark]')") from None
    pytest.skip("pyspark is not installed (pip install '.[spark]')", allow_module_level=True)


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output[-3000:]
    return result.output


def test_spark_runner_gives_the_same_json_report_as_the_local_runner(tmp_path):
    db = tmp_path / "db"
    cli("preprocess", *SAMPLE_CONFIGS, "--db", db)
    reports = []
    for runner in ("local", "spark"):
        results = tmp_path / f"{runner}.results"
        cli("run", *SAMPLE_LOGS, "--db", db, "-r", runner, "-o", results)
        reports.append(json.loads(cli("report", results, "--db", db, "--format", "json")))
    assert reports[0]["counters"]["matched"] > 5000
    assert reports[1] == reports[0]
