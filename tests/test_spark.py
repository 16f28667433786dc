"""The same job on Spark (pyspark in local mode, and a standalone cluster of a master and two
workers on this machine) gives the same report as the local runner."""
import json
import os

import pytest
from conftest import ROOT, SAMPLE_CONFIGS, SAMPLE_LOGS, cli_runner, free_ports

from ruleset_analysis.cli import main

try:
    import pyspark  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI must have pyspark for the Spark test (pip install '.[spark]')") from None
    pytest.skip("pyspark is not installed (pip install '.[spark]')", allow_module_level=True)


def cli(*args):
    result = cli_runner().invoke(main, [str(a) for a in args])
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
    # Hadoop properties reach Spark only with its prefix: directory trees are read through.
    assert args[args.index("--jobconf") + 1] == \
        "spark.hadoop.mapreduce.input.fileinputformat.input.dir.recursive=true"


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    """A Spark standalone cluster on 127.0.0.1: a master and two workers of one core each,
    from pyspark's own Spark. -> (master URL, environment for the driver)."""
    import signal
    import subprocess
    import time
    spark_home = os.path.dirname(pyspark.__file__)
    work = tmp_path_factory.mktemp("spark")
    port, ui = free_ports(2)
    env = dict(os.environ, SPARK_HOME=spark_home, SPARK_LOCAL_IP="127.0.0.1",
               SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false")
    spark_class = os.path.join(spark_home, "bin", "spark-class")
    master = f"spark://127.0.0.1:{port}"
    logs = [open(work / f"{name}.log", "wb") for name in ("master", "worker1", "worker2")]
    processes = [subprocess.Popen(
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(port), "--webui-port", str(ui)], env=env, stdout=logs[0],
        stderr=subprocess.STDOUT, start_new_session=True)]
    for i in (1, 2):
        processes.append(subprocess.Popen(
            [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
             "--cores", "1", "--memory", "1g", "--webui-port", "0", "--work-dir",
             str(work / f"work{i}"), master], env=env, stdout=logs[i],
            stderr=subprocess.STDOUT, start_new_session=True))
    deadline = time.monotonic() + 180
    while (work / "master.log").read_text(errors="replace").count("Registering worker") < 2:
        assert time.monotonic() < deadline, "the Spark workers did not register"
        time.sleep(1)
    yield master, env, work
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(60)
    for log in logs:
        log.close()


@pytest.mark.cluster
def test_a_spark_standalone_cluster_gives_the_local_report_with_a_bare_python(standalone,
                                                                             tmp_path):
    import shutil
    import subprocess
    import sys
    master, env, work = standalone
    db = tmp_path / "db"
    cli("preprocess", *SAMPLE_CONFIGS, "--db", db)
    # One directory per firewall; fw02's lines name no device: only their path attributes them.
    logs = []
    for path in SAMPLE_LOGS[:2]:
        name = os.path.basename(os.path.dirname(path))
        target = tmp_path / "logs" / name / "2014" / "06.log"
        target.parent.mkdir(parents=True)
        if name == "fw02":
            with open(path) as source:
                target.write_text(source.read().replace(" fw02 : ", " : "))
        else:
            shutil.copy(path, target)
        logs.append(str(tmp_path / "logs" / name))
    local = tmp_path / "local.results"
    cli("run", *logs, "--db", db, "-o", local)
    # The executors' Python is the system's, without this package, mrjob or pyspark.
    conf = tmp_path / "mrjob.conf"
    conf.write_text(f"runners:\n  spark:\n    spark_master: {master}\n"
                    f"    python_bin: /usr/bin/python3\n"
                    f"    spark_tmp_dir: {tmp_path / 'spark-tmp'}\n")
    results = tmp_path / "spark.results"
    out = subprocess.run([sys.executable, "-m", "ruleset_analysis.cli", "run", *logs, "--db",
                          str(db), "-r", "spark", "--mrjob-conf", str(conf), "-o",
                          str(results)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Launching executor" in (work / "master.log").read_text()    # on the workers
    reports = [json.loads(cli("report", path, "--db", db, "--format", "json"))
               for path in (local, results)]
    assert "unknown_firewall" not in reports[0]["counters"]
    assert reports[0]["counters"]["matched"] > 5000 and reports[1] == reports[0]
