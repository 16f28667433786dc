"""The job on a real Hadoop: HDFS and YARN of Hadoop's own CLI MiniCluster, its streaming jar.

The jars are a pinned Hadoop release that ci/hadoop/pom.xml resolves from Maven Central;
tests/hadoop/hadoop runs their classes as the `hadoop` (and `yarn`) command. Every report
must equal the one of the same logs analysed on this machine.

These tests need Java and Maven. Without them they are skipped, except where
RULESET_ANALYSIS_REQUIRE_HADOOP is set (CI sets it): there a missing Hadoop is a failure.
They are marked `cluster`: `pytest -m "not cluster"` leaves them out.
"""
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

import pytest
from conftest import ROOT, SAMPLE_CONFIGS, cli_runner, free_ports

from ruleset_analysis.cli import main

pytestmark = pytest.mark.cluster

LAUNCHER_DIR = os.path.join(ROOT, "tests", "hadoop")
POM = os.path.join(ROOT, "ci", "hadoop", "pom.xml")
SCRIPT = os.path.join(ROOT, "scripts", "run_hadoop_streaming.sh")
LOG_DIRS = [os.path.join(ROOT, "sample_logs", fw) for fw in ("fw01", "fw02", "fw99")]
# The client must know it talks to a MiniCluster: then its tasks get this JVM's classpath
# (a real cluster has Hadoop installed on its nodes instead).
CLIENT_PROPERTIES = {"yarn.is.minicluster": "true"}
# YARN gives no container while a disk is over 90% full (its default): on a developer's
# nearly full disk the first job waited 11 minutes, till the disk was freed (at 10%, checked,
# a job hangs on any disk).
DISK_LIMIT = "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage"
START_TIMEOUT = 240


def _missing_tools():
    return [tool for tool in ("java", "mvn") if shutil.which(tool) is None]


def _classpath_file(work):
    given = os.environ.get("HADOOP_TEST_CLASSPATH")
    if given:
        return given
    target = os.path.join(work, "classpath.txt")
    subprocess.run(["mvn", "-q", "-B", "-f", POM, "dependency:build-classpath",
                    f"-Dmdep.outputFile={target}"], check=True, capture_output=True)
    return target


def _client_configuration(written, conf_dir):
    """The MiniCluster's written configuration, as the client's core-, mapred- and yarn-site
    (later resources override earlier ones: each file must carry the cluster's values)."""
    tree = ElementTree.parse(written)
    names = {p.findtext("name"): p for p in tree.getroot()}
    for name, value in CLIENT_PROPERTIES.items():
        names[name].find("value").text = value
    os.makedirs(conf_dir)
    for site in ("core-site.xml", "mapred-site.xml", "yarn-site.xml"):
        tree.write(os.path.join(conf_dir, site))


class MiniCluster:
    """HDFS + YARN in one JVM (`hadoop jar …-tests.jar minicluster`), and the environment in
    which `hadoop` and `yarn` reach it."""

    def __init__(self, work):
        self.work = work
        classpath_file = _classpath_file(work)
        jars = open(classpath_file).read().strip().split(os.pathsep)
        self.streaming_jar = next(j for j in jars if "/hadoop-streaming-" in j)
        tests_jar = next(j for j in jars if "hadoop-mapreduce-client-jobclient" in j
                         and j.endswith("-tests.jar"))
        conf_dir = os.path.join(work, "conf")
        self.env = dict(os.environ, HADOOP_TEST_CLASSPATH=classpath_file,
                        HADOOP_CONF_DIR=conf_dir,
                        PATH=f"{LAUNCHER_DIR}{os.pathsep}{os.environ['PATH']}")
        namenode, resourcemanager, history = free_ports(3)
        written, details = os.path.join(work, "written.xml"), os.path.join(work, "details")
        launch_env = dict(self.env)
        launch_env.pop("HADOOP_CONF_DIR")
        self.log = open(os.path.join(work, "minicluster.log"), "wb")
        self.process = subprocess.Popen(
            [os.path.join(LAUNCHER_DIR, "hadoop"), "jar", tests_jar, "minicluster", "-format",
             "-nnport", str(namenode), "-rmport", str(resourcemanager),
             "-jhsport", str(history), "-D", "mapreduce.framework.name=yarn",
             "-D", "yarn.log-aggregation-enable=true", "-D", f"{DISK_LIMIT}=100",
             "-writeConfig", written, "-writeDetails", details],
            cwd=work, env=launch_env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not (os.path.exists(details) and os.path.getsize(details)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the MiniCluster did not start: see "
                                   f"{self.log.name}")
            time.sleep(1)
        _client_configuration(written, conf_dir)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()

    def hadoop(self, *args, check=True):
        return subprocess.run(["hadoop", *args], env=self.env, capture_output=True,
                              check=check)

    def put_tree(self, local_dir, hdfs_dir):
        self.hadoop("fs", "-mkdir", "-p", os.path.dirname(hdfs_dir))
        self.hadoop("fs", "-put", local_dir, hdfs_dir)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    missing = _missing_tools()
    if missing:
        message = f"Hadoop tests need {' and '.join(missing)}"
        if os.environ.get("RULESET_ANALYSIS_REQUIRE_HADOOP"):
            pytest.fail(message)
        pytest.skip(message)
    found = MiniCluster(str(tmp_path_factory.mktemp("hadoop")))
    # The logs as a cluster keeps them: one directory per firewall, a tree below it.
    for path in LOG_DIRS:
        name = os.path.basename(path)
        found.put_tree(path, f"/data/{name}/2014/06")
    yield found
    found.stop()


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("db") / "accesslists.db")
    assert cli_runner().invoke(main, ["preprocess", *SAMPLE_CONFIGS, "--db", path]).exit_code \
        == 0
    return path


@pytest.fixture(scope="module")
def local_report(db, tmp_path_factory):
    """The report of the same logs, run on this machine."""
    results = str(tmp_path_factory.mktemp("local") / "results")
    runner = cli_runner()
    assert runner.invoke(main, ["run", *LOG_DIRS, "--db", db, "--year", "2014",
                                "-o", results]).exit_code == 0
    return report(db, results)


def report(db, results):
    out = cli_runner().invoke(main, ["report", results, "--db", db, "--format", "json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def cli(cluster, *args):
    """`ruleset-analysis ARGS` in the cluster's environment (a process of its own: mrjob
    starts `hadoop` from PATH)."""
    return subprocess.run([sys.executable, "-m", "ruleset_analysis.cli", *args],
                          env=cluster.env, capture_output=True, text=True)


def streaming(cluster, db, output, *inputs, options=()):
    return subprocess.run(
        ["bash", SCRIPT, "--db", db, "--output", output, "--jar", cluster.streaming_jar,
         "--year", "2014", *[f"-D{k}={v}" for k, v in CLIENT_PROPERTIES.items()], *options,
         *inputs], env=cluster.env, capture_output=True, text=True)


def getmerge(cluster, output, local):
    cluster.hadoop("fs", "-getmerge", output, local)
    return local


def test_the_streaming_script_reads_per_firewall_trees_on_hdfs(cluster, db, local_report,
                                                               tmp_path):
    out = streaming(cluster, db, "/results/trees", "hdfs:///data/fw01", "hdfs:///data/fw02",
                    "hdfs:///data/fw99")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Submitted application application_" in out.stderr      # YARN, not a local runner
    merged = getmerge(cluster, "/results/trees", str(tmp_path / "results"))
    assert report(db, merged) == local_report


def test_the_streaming_script_reads_gzip_logs_of_several_members_into_two_reducers(
        cluster, db, local_report, tmp_path):
    for path in LOG_DIRS:
        name = os.path.basename(path)
        local = tmp_path / name
        local.mkdir()
        with open(os.path.join(path, f"{name}-2014-06.log"), "rb") as source:
            lines = source.readlines()
        half = len(lines) // 2                  # two members, as rotated files joined with cat
        (local / f"{name}-2014-06.log.gz").write_bytes(
            gzip.compress(b"".join(lines[:half])) + gzip.compress(b"".join(lines[half:])))
        cluster.put_tree(str(local), f"/gz/{name}")
    out = streaming(cluster, db, "/results/gz", "hdfs:///gz", options=("--reducers", "2"))
    assert out.returncode == 0, out.stderr[-3000:]
    parts = cluster.hadoop("fs", "-ls", "/results/gz").stdout.decode()
    assert "part-00000" in parts and "part-00001" in parts
    merged = getmerge(cluster, "/results/gz", str(tmp_path / "results"))
    assert report(db, merged) == local_report


def failing_python(tmp_path):
    """A node's Python that lacks a module the task needs."""
    python = tmp_path / "python3"
    python.write_text("#!/bin/sh\nexec /usr/bin/python3 -c 'import module_missing_on_node'\n")
    python.chmod(0o755)
    return str(python)


def test_the_streaming_script_names_the_log_of_a_failed_task(cluster, db, tmp_path):
    out = streaming(cluster, db, "/results/failed", "hdfs:///data/fw01",
                    options=("--python", failing_python(tmp_path)))
    assert out.returncode == 1
    application = re.search(r"Submitted application (application_\d+_\d+)", out.stderr)[1]
    assert out.stderr.rstrip().endswith(
        "run_hadoop_streaming.sh: the job failed; the tasks' own errors are in their logs: "
        f"yarn logs -applicationId {application} -log_files stderr")
    error = "ModuleNotFoundError: No module named 'module_missing_on_node'"
    for _ in range(20):          # YARN aggregates the logs a few seconds after the end
        logs = subprocess.run(["yarn", "logs", "-applicationId", application, "-log_files",
                               "stderr"], env=cluster.env, capture_output=True, text=True)
        if error in logs.stdout:
            break
        time.sleep(2)
    assert error in logs.stdout


def mrjob_conf(cluster, path, python="/usr/bin/python3"):
    """An mrjob.conf for the cluster. Its Python is the system's, without this package or
    mrjob installed: both must travel with the job."""
    lines = ["runners:", "  hadoop:", f"    hadoop_bin: {LAUNCHER_DIR}/hadoop",
             f"    hadoop_streaming_jar: {cluster.streaming_jar}", f"    python_bin: {python}",
             "    jobconf:"]
    lines += [f'      {k}: "{v}"' for k, v in CLIENT_PROPERTIES.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_run_on_hadoop_reads_hdfs_trees(cluster, db, local_report, tmp_path):
    results = str(tmp_path / "results")
    out = cli(cluster, "run", "-r", "hadoop", "--mrjob-conf",
              mrjob_conf(cluster, tmp_path / "mrjob.conf"), "--db", db, "--year", "2014",
              "hdfs:///data/fw01", "hdfs:///data/fw02", "hdfs:///data/fw99", "-o", results)
    assert out.returncode == 0, out.stderr[-3000:]
    assert report(db, results) == local_report


def test_run_on_hadoop_uploads_local_logs_named_by_their_firewall(cluster, db, local_report,
                                                                  tmp_path):
    # mrjob uploads local files flat: a file named after its firewall keeps it.
    logs = []
    for path in LOG_DIRS:
        name = os.path.basename(path)
        logs.append(shutil.copy(os.path.join(path, f"{name}-2014-06.log"),
                                tmp_path / f"{name}.log"))
    results = str(tmp_path / "results")
    out = cli(cluster, "run", "-r", "hadoop", "--mrjob-conf",
              mrjob_conf(cluster, tmp_path / "mrjob.conf"), "--db", db, "--year", "2014",
              *map(str, logs), "-o", results)
    assert out.returncode == 0, out.stderr[-3000:]
    assert report(db, results) == local_report


def test_run_on_hadoop_refuses_local_logs_only_their_directory_attributes(cluster, db,
                                                                         tmp_path):
    out = cli(cluster, "run", "-r", "hadoop", "--mrjob-conf",
              mrjob_conf(cluster, tmp_path / "mrjob.conf"), "--db", db, "--year", "2014",
              LOG_DIRS[0], "-o", str(tmp_path / "results"))
    assert out.returncode == 1
    assert "would lose its firewall (fw01, named by its directory)" in out.stderr


def test_a_failing_task_shows_its_python_error_without_verbose(cluster, db, tmp_path):
    out = cli(cluster, "run", "-r", "hadoop", "--mrjob-conf",
              mrjob_conf(cluster, tmp_path / "mrjob.conf", failing_python(tmp_path)), "--db", db,
              "--year", "2014", "hdfs:///data/fw01", "-o", str(tmp_path / "results"))
    assert out.returncode == 1
    assert "ModuleNotFoundError: No module named 'module_missing_on_node'" in out.stderr
