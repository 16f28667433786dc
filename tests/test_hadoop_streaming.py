"""scripts/run_hadoop_streaming.sh: the exact submission, and a run end to end through a
stand-in `hadoop` that executes mapper | sort | combiner | sort | reducer here."""
import json
import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLE_CONFIGS, SAMPLE_LOGS, cli_runner, signals_at_their_defaults

from ruleset_analysis.cli import main

SCRIPT = os.path.join(ROOT, "scripts", "run_hadoop_streaming.sh")

STAND_IN = r'''#!PYTHON
"""A stand-in for `hadoop jar hadoop-streaming.jar ...`: runs the streaming job locally."""
import os, shutil, subprocess, sys, tempfile
args = sys.argv[1:]
assert args[0] == "jar", args
args = args[2:]
files, inputs, options = [], [], {}
while args:
    flag, value, args = args[0], args[1], args[2:]
    if flag == "-D":
        continue
    if flag == "-files":
        files = value.split(",")
    elif flag == "-input":
        inputs.append(value)
    else:
        options[flag] = value
task = tempfile.mkdtemp()
for entry in files:
    source, _, alias = entry.partition("#")
    shutil.copy(source, os.path.join(task, alias or os.path.basename(source)))
def run(command, data, env=None):
    return subprocess.run(command, shell=True, cwd=task, input=data, capture_output=True,
                          check=True, env=env).stdout
mapped = b""
for path in inputs:
    env = dict(os.environ, mapreduce_map_input_file=path)
    mapped += run(options["-mapper"], open(path, "rb").read(), env)
def shuffle(data):
    return b"".join(sorted(data.splitlines(keepends=True)))
reduced = run(options["-reducer"], shuffle(run(options["-combiner"], shuffle(mapped))))
os.makedirs(options["-output"])
open(os.path.join(options["-output"], "part-00000"), "wb").write(reduced)
'''


def test_the_submission_is_a_plain_streaming_command(tmp_path):
    db = tmp_path / "accesslists.db"
    db.write_bytes(b"")
    out = subprocess.run(["bash", SCRIPT, "--db", str(db), "--output", "/user/me/results",
                          "--jar", "/opt/hadoop-streaming.jar", "--reducers", "4", "--year",
                          "2014", "--max-connections", "5", "hdfs:///data/fw01/2014",
                          "hdfs:///data/fw02/2014", "--dry-run"],
                         capture_output=True, text=True, check=True).stdout
    command = re.sub(r"/[^ ,]*/ruleset_analysis\.zip#", "ZIP#", out.strip()).replace("\\", "")
    scripts = os.path.join(ROOT, "scripts")
    assert command == (
        "hadoop jar /opt/hadoop-streaming.jar -D mapreduce.job.name=ruleset-analysis "
        "-D mapreduce.input.fileinputformat.input.dir.recursive=true "
        f"-D mapreduce.job.reduces=4 -files {db}#accesslists.db,ZIP#ruleset_analysis.zip,"
        f"{scripts}/mapper.py,{scripts}/reducer.py -input hdfs:///data/fw01/2014 "
        "-input hdfs:///data/fw02/2014 -output /user/me/results "
        "-mapper python3 mapper.py --db accesslists.db --year 2014 --max-connections 5 "
        "-combiner python3 reducer.py --combine --max-connections 5 "
        "-reducer python3 reducer.py --max-connections 5")


def test_a_dry_run_needs_no_jar_keeps_its_zip_and_passes_hadoop_properties(tmp_path):
    db = tmp_path / "accesslists.db"
    db.write_bytes(b"")
    env = {k: v for k, v in os.environ.items() if k not in ("HADOOP_STREAMING_JAR",
                                                           "HADOOP_HOME")}
    out = subprocess.run(["bash", SCRIPT, "--db", str(db), "--output", "/results",
                          "-D", "mapreduce.job.queuename=audit", "-Dmapreduce.map.memory.mb=2048",
                          "hdfs:///data", "--dry-run"], capture_output=True, text=True,
                         check=True, env=env).stdout
    assert " -D mapreduce.job.queuename=audit -D mapreduce.map.memory.mb=2048 " in out
    package = re.search(r"(/[^\s,#]+/ruleset_analysis\.zip)#", out.replace("\\", ""))[1]
    assert os.path.isfile(package)             # the printed command can be run as it is
    os.remove(package)
    os.rmdir(os.path.dirname(package))


def test_the_last_python_error_of_a_task_log_is_its_exception_line():
    from ruleset_analysis.runner import last_python_error
    log = ("LogType:stderr\nTraceback (most recent call last):\n  File \"x.py\", line 1\n"
           "    import a\nImportError: first\nsome other line\n"
           "Traceback (most recent call last):\n  File \"mapper.py\", line 9, in <module>\n"
           "ValueError: the last one\nEnd of LogType:stderr\n")
    assert last_python_error(log) == "ValueError: the last one"
    assert last_python_error("LogType:stderr\nno traceback\n") is None


def test_missing_arguments_are_one_clear_error(tmp_path):
    out = subprocess.run(["bash", SCRIPT, "--output", "/x", "in"], capture_output=True,
                         text=True)
    assert out.returncode == 1
    assert out.stderr.strip() == ("run_hadoop_streaming.sh: --db, --output and at least one "
                                  "input are required")


def test_a_run_through_a_stand_in_hadoop_gives_the_local_report(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hadoop = bin_dir / "hadoop"
    hadoop.write_text(STAND_IN.replace("PYTHON", sys.executable))
    hadoop.chmod(0o755)
    db, local = tmp_path / "accesslists.db", tmp_path / "local.results"
    runner = cli_runner()
    assert runner.invoke(main, ["preprocess", *SAMPLE_CONFIGS, "--db", str(db)]).exit_code == 0
    assert runner.invoke(main, ["run", *SAMPLE_LOGS, "--db", str(db), "-o",
                                str(local)]).exit_code == 0
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    output = tmp_path / "hdfs-results"
    subprocess.run(["bash", SCRIPT, "--db", str(db), "--output", str(output), "--jar",
                    "/opt/hadoop-streaming.jar", "--python", "python3", *SAMPLE_LOGS],
                   check=True, env=env, capture_output=True)
    reports = [json.loads(runner.invoke(main, ["report", str(path), "--db", str(db),
                                               "--format", "json"]).output)
               for path in (local, output / "part-00000")]
    assert reports[0]["counters"]["matched"] > 5000 and reports[1] == reports[0]


@pytest.mark.parametrize("name, status", [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_the_script_ended_by_a_signal_leaves_nothing_in_the_temp_directory(tmp_path, name,
                                                                         status):
    # Ctrl-C (the terminal's process group) left its package zip behind
    import signal
    import time
    bin_dir, scratch = tmp_path / "bin", tmp_path / "tmp"
    bin_dir.mkdir()
    scratch.mkdir()
    hadoop = bin_dir / "hadoop"         # a job that runs till it is stopped
    hadoop.write_text(f"#!/bin/sh\ntouch {tmp_path / 'submitted'}\nexec sleep 600\n")
    hadoop.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               TMPDIR=str(scratch))
    script = subprocess.Popen(["bash", SCRIPT, "--db", SAMPLE_CONFIGS[0], "--output", "out",
                               "--jar", "/opt/hadoop-streaming.jar", *SAMPLE_LOGS], env=env,
                              start_new_session=True, stderr=subprocess.DEVNULL,
                              preexec_fn=signals_at_their_defaults)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "submitted").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(scratch.iterdir())                  # its package, while it runs
        os.killpg(script.pid, getattr(signal, name))
        assert script.wait(60) == status
    finally:
        try:
            os.killpg(script.pid, signal.SIGKILL)
        except ProcessLookupError:      # (all ended)
            pass
        script.wait()
    assert list(scratch.iterdir()) == []


def test_mrjob_hadoop_runner_ships_the_package_and_the_database(tmp_path, sample_db):
    from ruleset_analysis.job import RulesetAnalysisJob
    from ruleset_analysis.options import JobOptions
    from ruleset_analysis.runner import Cluster, job_args
    from ruleset_analysis.streaming import package_zip
    fake = tmp_path / "hadoop"
    fake.write_text("#!/bin/sh\necho 'Hadoop 3.3.6'\n")
    fake.chmod(0o755)
    package = package_zip(str(tmp_path / "ruleset_analysis.zip"))
    args = job_args(["hdfs:///data/fw01/*2014*"], sample_db, "hadoop", JobOptions(year="2014"),
                    Cluster(job_name="fw-audit", reducers=4, priority="HIGH"), package)
    job = RulesetAnalysisJob(args=args + ["--hadoop-bin", str(fake), "--hadoop-streaming-jar",
                                          "/opt/hadoop-streaming.jar", "--no-conf"])
    with job.make_runner() as runner:          # the steps of HadoopJobRunner._run, offline
        runner._create_setup_wrapper_scripts()
        runner._add_job_files_for_upload()
        command = runner._args_for_streaming_step(0)
    shipped = command[command.index("-files") + 1].split(",")
    assert {entry.split("#")[1] for entry in shipped} >= {"ruleset_analysis.zip",
                                                          "accesslists.db", "job.py"}
    options = [command[i + 1] for i, word in enumerate(command) if word == "-D"]
    assert options == ["mapreduce.input.fileinputformat.input.dir.recursive=true",
                       "mapreduce.job.name=fw-audit", "mapreduce.job.priority=HIGH",
                       "mapreduce.job.reduces=4"]
    assert command[command.index("-input") + 1] == "hdfs:///data/fw01/*2014*"
    mapper = command[command.index("-mapper") + 1]
    assert mapper.endswith("job.py --step-num=0 --mapper --db accesslists.db --year 2014 "
                           "--permits-from built --max-connections 100")
    assert "--reducer" in command[command.index("-reducer") + 1]
    assert "--combiner" in command[command.index("-combiner") + 1]


def test_the_package_zip_holds_every_module(tmp_path):
    import zipfile

    from ruleset_analysis.streaming import package_zip
    names = zipfile.ZipFile(package_zip(str(tmp_path / "package.zip"))).namelist()
    assert {"ruleset_analysis/job.py", "ruleset_analysis/asa/syslog.py",
            "ruleset_analysis/report/__init__.py"} <= set(names)


def test_the_sample_cluster_configs_load_in_mrjob():
    from mrjob.conf import load_opts_from_mrjob_conf
    for runner in ("hadoop", "emr", "dataproc"):
        path = os.path.join(ROOT, "docs", f"mrjob-{runner}.conf")
        [(loaded_from, options)] = load_opts_from_mrjob_conf(runner, path)
        assert options["python_bin"] == "python3", runner


def test_a_cluster_run_refuses_local_logs_that_only_their_directory_attributes(tmp_path,
                                                                               sample_db):
    from ruleset_analysis.asa.config import ConfigError
    from ruleset_analysis.options import JobOptions
    from ruleset_analysis.runner import refuse_flattened_inputs
    log = tmp_path / "fw01" / "2014-06.log"
    log.parent.mkdir()
    log.write_text("")
    try:
        refuse_flattened_inputs([str(tmp_path)], ["fw01", "fw02"], "hadoop", JobOptions())
    except ConfigError as exc:
        assert str(exc).startswith(f"{log}: -r hadoop uploads local files without their "
                                   "directories") and "(fw01, named by its directory)" in str(exc)
    else:
        raise AssertionError("a log whose firewall only its directory names was accepted")
    named = tmp_path / "fw02.log"                      # its name says whose it is: kept
    named.write_text("")
    refuse_flattened_inputs([str(named), "hdfs:///data/fw01/x.log"], ["fw01", "fw02"],
                            "hadoop", JobOptions())
    refuse_flattened_inputs([str(tmp_path)], ["fw01", "fw02"], "hadoop",
                            JobOptions(assume_firewall="fw01"))


def test_a_cluster_run_leaves_out_local_logs_it_would_read_as_garbage_and_says_so(tmp_path):
    # Hadoop and Spark read plain, gzip and bzip2 by the file's name
    import bz2
    import gzip
    import lzma

    from ruleset_analysis.runner import cluster_inputs
    text = b"Jun 01 2014 00:00:01 fw01 : %ASA-6-302014: Teardown TCP connection 1\n"
    kept = {"fw01.log": text, "fw01.log.gz": gzip.compress(text),
            "fw01.log.bz2": bz2.compress(text)}
    left = {"fw02.log.xz": lzma.compress(text), "fw02.log": gzip.compress(text),
            "fw02.log.zst": b"\x28\xb5\x2f\xfd" + text}
    for name, data in {**kept, **left}.items():
        (tmp_path / name).write_bytes(data)
    paths = [str(tmp_path / name) for name in sorted({**kept, **left})]
    logs, problems = cluster_inputs(paths + ["hdfs:///data/fw03/x.log.xz"], "hadoop")
    assert logs == [str(tmp_path / name) for name in sorted(kept)] + \
        ["hdfs:///data/fw03/x.log.xz"]
    assert [path for path, _ in problems] == [str(tmp_path / name) for name in sorted(left)]
    said = dict(problems)
    assert said[str(tmp_path / "fw02.log.xz")] == (
        f"{tmp_path / 'fw02.log.xz'}: holds xz data, which -r hadoop does not read (it reads "
        "plain, gzip and bzip2 logs by their names): not read; decompress it, or recompress "
        "it with gzip, or give -r local")
    assert said[str(tmp_path / "fw02.log")].startswith(
        f"{tmp_path / 'fw02.log'}: holds gzip data but is named plain, which -r hadoop")


# What a task node may lack: everything preprocess, report and the CLI use beyond the
# standard library (the job's scripts and the package's zip are all a node gets).
BLOCKED = ("orjson", "sqlitedict", "netaddr", "tabulate", "click", "mrjob")
STDLIB_ONLY = f"""
import runpy, sys
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError(f"no module named {{name!r}} on this node")
sys.meta_path.insert(0, Absent())
script = sys.argv.pop(1)
sys.argv[0] = script
runpy.run_path(script, run_name="__main__")
"""


def test_the_map_and_reduce_scripts_run_on_a_python_with_the_standard_library_alone(tmp_path):
    from conftest import OUTSIDE_DMZ, built

    from ruleset_analysis.database import save_firewalls
    from ruleset_analysis.preprocess import read_firewalls
    head = "hostname fw01\n" + OUTSIDE_DMZ
    bind = "\naccess-group outside_in in interface outside\n"
    os.makedirs(tmp_path / "fw01")
    for day in range(1, 5):             # older revisions stored whole and as changes
        aces = [f"access-list outside_in extended permit tcp any host 172.16.1.{n} eq https"
                for n in range(10, 20) if n != 10 + day]
        (tmp_path / "fw01" / f"2014-06-0{day}T0000.cfg").write_text(head + "\n".join(aces) +
                                                                      bind)
    firewalls, older = read_firewalls([str(tmp_path / "fw01")])
    db = str(tmp_path / "h.db")
    save_firewalls(db, firewalls, older)
    lines = "".join(built("inbound", "TCP", f"outside:198.51.100.{day}/5000",
                          "dmz:172.16.1.12/443", when=f"Jun 0{day} 2014 12:00:00") + "\n"
                    for day in range(1, 5)).encode()

    def run(script, given, *args):
        done = subprocess.run([sys.executable, "-c", STDLIB_ONLY,
                               os.path.join(ROOT, "scripts", script), *args],
                              input=given, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout
    mapped = run("mapper.py", lines, "--db", db)
    reduced = run("reducer.py", b"".join(sorted(mapped.splitlines(keepends=True))))
    records = [json.loads(line.split(b"\t")[1]) for line in reduced.splitlines()
               if line.startswith(b'"ace')]
    # 172.16.1.12 was dropped on day 2 only: three lines of other revisions hit its ACE
    assert sum(record["hits"] for record in records) == 3
