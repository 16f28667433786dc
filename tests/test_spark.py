"""The same job on Spark (pyspark, local mode) gives the same report as the local runner."""
import json
import os

import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLE_CONFIGS, SAMPLE_LOGS

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


def test_spark_attributes_logs_by_their_directory_like_the_local_runner(tmp_path):
    db = tmp_path / "db"
    cli("preprocess", *SAMPLE_CONFIGS, "--db", db)
    logs = tmp_path / "logs" / "fw02"
    logs.mkdir(parents=True)
    with open(os.path.join(ROOT, "sample_logs", "fw02", "fw02-2014-06.log")) as source:
        lines = [line.replace(" fw02 : ", " : ") for _, line in zip(range(400), source)]
    (logs / "2014-06.log").write_text("".join(lines))      # lines that name no device
    reports = []
    for runner in ("local", "spark"):
        results = tmp_path / f"{runner}.results"
        cli("run", tmp_path / "logs", "--db", db, "-r", runner, "-o", results)
        report = tmp_path / f"{runner}.json"       # (warnings name the firewall without logs)
        cli("report", results, "--db", db, "--format", "json", "-o", report)
        reports.append(json.loads(report.read_text()))
    assert "unknown_firewall" not in reports[1]["counters"]
    assert reports[0]["counters"]["matched"] > 50 and reports[1] == reports[0]


def test_spark_tasks_get_the_package_and_their_input_path():
    from ruleset_analysis.options import JobOptions
    from ruleset_analysis.runner import SHIPPING_RUNNERS, job_args
    args = job_args(["/data"], "db", "spark", JobOptions(), package="pkg.zip")
    assert "spark" in SHIPPING_RUNNERS
    assert args[args.index("--py-files") + 1] == "pkg.zip"
    assert "--emulate-map-input-file" in args
