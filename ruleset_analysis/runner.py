"""Running the job: which inputs, which runner, and the results it writes.

The CLI's `run` and `analyze` call ``run_job``; it checks the inputs (each file once, no file
beside its own compressed copy, compressed files readable to their end), builds mrjob's
command line from the ``JobOptions`` and returns the results lines, sorted.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, TextIO, Tuple

from .asa.config import ConfigError
from .database import DatabaseError, read_meta
from .options import JobOptions
from .records import INPUT_ERROR, encode

RUNNERS = ("inline", "local", "hadoop", "spark", "emr", "dataproc")
LOCAL_RUNNERS = ("inline", "local")
CLUSTER_RUNNERS = ("hadoop", "emr", "dataproc")
# Runners whose tasks may run where this package is not installed: they get it as a zip.
SHIPPING_RUNNERS = CLUSTER_RUNNERS + ("spark",)
COMPRESSED = (".gz", ".bz2", ".xz", ".zst")
# What mrjob and the clusters read themselves (by the name): an xz or zstd log is read
# through a plain copy by the local mrjob runners, and not by the clusters.
MRJOB_READS = ("gzip", "bzip2")
RECURSIVE_INPUT = "mapreduce.input.fileinputformat.input.dir.recursive"



def warn(message: str) -> None:
    """One line on standard error (the one in use now: tests swap it)."""
    from .report.safe import one_line
    print(one_line(message), file=sys.stderr, flush=True)


class JobFailed(Exception):
    """A job failed, and why is known (the error its task wrote, on a cluster)."""


@dataclass(frozen=True)
class Cluster:
    """Settings for a run on a cluster (ignored by the local runners)."""
    job_name: Optional[str] = None
    reducers: Optional[int] = None
    priority: Optional[str] = None
    conf: Optional[str] = None          # an mrjob.conf


def local_inputs(logs: Sequence[str]) -> List[str]:
    """The files the job reads, each once: directories are read recursively (as mrjob
    does), a path given twice or reached twice is read once — through a symlink or a hard
    link (snapshot trees that rsync --link-dest or cp -l make: every line counted once per
    snapshot) — and a file beside its own compressed copy (``x.log`` and ``x.log.gz``, as
    ``gzip -k`` leaves them) is an error: its connections would count twice."""
    files: dict = {}
    inodes: set = set()
    for path in logs:
        if os.path.isdir(path):
            found = [os.path.join(root, name) for root, _, names in os.walk(path)
                     for name in sorted(names)]
        else:
            found = [path]
        for name in found:
            real = os.path.realpath(name)
            if real in files:
                continue
            try:
                status = os.stat(real)
            except OSError:             # gone, or not to be read: said when it is read
                status = None
            if status is not None and status.st_ino:    # (0: a filesystem without them)
                if (status.st_dev, status.st_ino) in inodes:
                    continue
                inodes.add((status.st_dev, status.st_ino))
            files[real] = name
    by_content: dict = {}
    for real, name in files.items():
        stem = real.rsplit(".", 1)[0] if real.endswith(COMPRESSED) else real
        if stem in by_content:
            raise ConfigError(f"{by_content[stem]} and {name} hold the same log (one is the "
                              "other compressed): give only one of them")
        by_content[stem] = name
    return list(files.values())


def warn_unreadable(message: str) -> None:
    """One line for an input that is not what its name says, holds what is not read, or
    breaks before its end."""
    whole = " holds " in message            # (the first two: said of the whole file)
    warn(f"warning: {message}" + ("" if whole else "; the lines before it are analysed, "
                                  "the rest is missing"))


def check_archives(files: Sequence[str], scratch: str) -> Tuple[List[str], List[Tuple[str, str]]]:
    """-> (the files to read, [(path, message)] for each input that holds what is not read
    (left out), and each compressed one that cannot be read to its end or is not what its
    name says). Such an input, one of several gzip members or bzip2 streams (mrjob reads the
    first alone), and an xz one (mrjob reads none), is replaced by a plain copy of its
    readable lines under ``scratch``, at the same path below it, so its directory still names
    its firewall."""
    from .report.lines import (
        LogError,
        check_compressed,
        compression,
        read_lines,
        readable,
        several_streams,
        unread,
    )
    kept, problems = [], []
    for path in files:
        content = compression(path)[0]
        if not readable(content):
            problems.append((path, unread(path, content)))
            warn_unreadable(problems[-1][1])
            continue
        if path.endswith(COMPRESSED) or content != "plain":
            try:
                check_compressed(path)
                whole = content in MRJOB_READS and not several_streams(path)
            except LogError as exc:
                warn_unreadable(str(exc))
                problems.append((path, str(exc)))
                whole = False
            if not whole:
                copy = os.path.join(scratch, os.path.abspath(path).lstrip(os.sep))
                if path.endswith(COMPRESSED):
                    copy = copy.rsplit(".", 1)[0]
                os.makedirs(os.path.dirname(copy), exist_ok=True)
                with open(copy, "w", encoding="utf-8", errors="surrogateescape") as handle:
                    try:
                        for line in read_lines(path):
                            handle.write(line + "\n")
                    except LogError:
                        pass            # the break, said above
                path = copy
        kept.append(path)
    return kept, problems


def job_inputs(logs: Sequence[str], runner: str) -> List[str]:
    """The inputs a runner is given: the local ones as their files, each once (local_inputs;
    Spark and Hadoop read no nested directory: a tree of per-firewall directories would be
    zero lines, without an error), then, for a cluster, those on it as they are named."""
    if runner in LOCAL_RUNNERS:
        for path in logs:
            if not os.path.exists(path):
                raise ConfigError(f"{path}: log file not found")
        return local_inputs(logs)
    given = list(dict.fromkeys(logs))
    local = [path for path in given if os.path.exists(path)]
    return (local_inputs(local) if local else []) + \
        [path for path in given if not os.path.exists(path)]


def cluster_inputs(logs: Sequence[str], runner: str) -> Tuple[List[str], List[Tuple[str, str]]]:
    """-> (the inputs to give a cluster or Spark, [(path, message)] for each local one left
    out): they read plain, gzip and bzip2 logs, each by its name, so a local log of another
    kind, or not what its name says, would be read as lines of garbage. (A log already on
    the cluster is not looked into.)"""
    from .report.lines import compression
    kept, problems = [], []
    for path in logs:
        if "://" not in path and os.path.isfile(path):
            content, named = compression(path)
            if content != named or content not in ("plain",) + MRJOB_READS:
                message = f"{path}: holds {content} data" + \
                    (f" but is named {named}" if content != named else "") + \
                    f", which -r {runner} does not read (it reads plain, gzip and bzip2 " \
                    "logs by their names): not read; decompress it, or recompress it with " \
                    "gzip, or give -r local"
                warn_unreadable(message)
                problems.append((path, message))
                continue
        kept.append(path)
    return kept, problems


def refuse_flattened_inputs(logs: Sequence[str], firewalls: Sequence[str], runner: str,
                            options: JobOptions) -> None:
    """A cluster runner uploads local input files without their directories: a log whose
    firewall only its directory names would lose it (and be unknown_firewall). Refuse such
    an input, in one line, unless --assume-firewall says whose the logs are."""
    if options.assume_firewall is not None:
        return
    from .aggregate import firewall_of_path
    ids = {name: name for name in firewalls}
    local = [path for path in logs if "://" not in path and os.path.exists(path)]
    for path in local_inputs(local) if local else []:
        by_path = firewall_of_path(os.path.abspath(path), ids)
        if by_path is not None and firewall_of_path(os.path.basename(path), ids) != by_path:
            raise ConfigError(
                f"{path}: -r {runner} uploads local files without their directories, so "
                f"this log would lose its firewall ({by_path}, named by its directory): copy "
                "the logs to the cluster one directory per firewall and give those paths, or "
                "give --assume-firewall")


def job_args(logs: Sequence[str], db: str, runner: str, options: JobOptions,
             cluster: Cluster = Cluster(), package: Optional[str] = None) -> List[str]:
    """The mrjob command line of a run. ``package``: a zip of this package for cluster
    tasks, which get it through --py-files instead of a pip install on every node."""
    args = ["-r", runner, "--db", db] + options.args()
    if runner == "spark":
        # mrjob gives Spark's mappers their input's path only when asked; without it, logs
        # attributed by their directory would all be unknown_firewall.
        args += ["--emulate-map-input-file"]
    if runner == "spark" and not cluster.conf:
        # Spark on this machine: its Python workers must be this interpreter, the one with
        # this package. A cluster's mrjob.conf sets python_bin instead.
        args += ["--python-bin", sys.executable]
    if cluster.conf:
        args += ["--conf-path", cluster.conf]
    if runner in LOCAL_RUNNERS:
        # mrjob keeps a failed job's temp directory (for its debugging) by default: here it
        # holds a copy of every input, decompressed
        args += ["--cleanup-on-failure", "ALL"]
    else:
        # Logs are kept one directory per firewall, often by year and month below it: without
        # this, Hadoop refuses such a tree ("Not a file"). Spark takes Hadoop properties with
        # a prefix (mrjob passes its jobconf to spark-submit as they are).
        prefix = "spark.hadoop." if runner == "spark" else ""
        args += ["--jobconf", f"{prefix}{RECURSIVE_INPUT}=true"]
    for key, value in (("mapreduce.job.name", cluster.job_name),
                       ("mapreduce.job.reduces", cluster.reducers),
                       ("mapreduce.job.priority", cluster.priority)):
        if value is not None:
            args += ["--jobconf", f"{key}={value}"]
    if package is not None:
        args += ["--py-files", package]
    return args + list(logs)


def run_job(logs: Sequence[str], db: str, runner: str, options: JobOptions,
            cluster: Cluster = Cluster(), progress: Optional[TextIO] = None,
            workers: Optional[int] = None) -> List[str]:
    """Run the job; -> the results lines (sorted, so every runner's output is identical).
    ``progress``: a terminal on which the local runner shows how far it is; ``workers``:
    its worker processes (default: machine.default_workers)."""
    names = read_meta(db)["firewalls"]
    if options.assume_firewall is not None and options.assume_firewall not in names:
        raise DatabaseError(f"{db}: firewall '{options.assume_firewall}' is not in the "
                            f"database (it has: {', '.join(names) or 'none'})")
    logs = job_inputs(logs, runner)
    if runner == "local":
        from .local_runner import run_local
        lines, problems = run_local(logs, db, options, workers=workers, progress=progress)
        for _, message in problems:
            warn_unreadable(message)
    else:
        lines, problems = _run_mrjob(logs, db, runner, options, cluster, names)
    from .report.safe import one_line
    lines += [encode(f"{INPUT_ERROR}\t{path}", one_line(message)).rstrip("\n")
              for path, message in problems]
    return sorted(lines)


def _run_mrjob(logs: List[str], db: str, runner: str, options: JobOptions, cluster: Cluster,
               names: Sequence[str]) -> Tuple[List[str], List[Tuple[str, str]]]:
    """The job through one of mrjob's runners: -> (results lines, unreadable inputs)."""
    from mrjob.step import StepFailedException

    from .job import RulesetAnalysisJob
    from .streaming import package_zip
    with tempfile.TemporaryDirectory(prefix="ruleset-analysis-") as scratch:
        # mrjob's decompression stops silently where an archive is truncated or its first
        # member ends, and fails on a corrupt one: check them first, say what is missing (in
        # the results and the report too), and read the lines before the break.
        problems: List[Tuple[str, str]] = []
        if runner in LOCAL_RUNNERS:
            logs, problems = check_archives(logs, os.path.join(scratch, "readable"))
        else:
            logs, problems = cluster_inputs(logs, runner)
        if not logs:
            # mrjob given no input reads standard input: a pipeline's, or a terminal's till
            # it ends. Every log left out (said above): a mapper over no line says which
            # rulesets the results belong to; a cluster has nothing to run.
            if runner not in LOCAL_RUNNERS:
                raise ConfigError("no log left to read: every input was left out (above)")
            logs = [os.path.join(scratch, "no-log")]
            open(logs[0], "w").close()
        if runner in CLUSTER_RUNNERS:
            refuse_flattened_inputs(logs, names, runner, options)
        package = package_zip(os.path.join(scratch, "ruleset_analysis.zip")) \
            if runner in SHIPPING_RUNNERS else None
        job = RulesetAnalysisJob(args=job_args(logs, db, runner, options, cluster, package))
        with job.make_runner() as job_runner:
            try:
                job_runner.run()
            except StepFailedException as exc:
                if runner == "hadoop":
                    failed_task(job_runner, exc)
                raise
            except OSError as exc:
                if exc.filename is not None or runner not in LOCAL_RUNNERS:
                    raise
                # (a write of mrjob's: a full disk, a file size limit; it names no file)
                raise JobFailed(f"{exc.strerror or exc}, writing the job's temporary files in "
                                f"{tempfile.gettempdir()} (TMPDIR)") from None
            if runner in CLUSTER_RUNNERS:
                warn(f"results of the job: {job_runner.get_output_dir()}")
            output = b"".join(job_runner.cat_output())
    return [line for line in output.decode("utf-8").splitlines() if line], problems


# YARN aggregates a finished application's logs a few seconds after it ends.
AGGREGATION_WAIT = 30.0


def failed_task(job_runner, failure: Exception) -> None:
    """Raise JobFailed naming the Python error a failed task wrote, read with `yarn logs`.
    mrjob finds task logs only on this machine, and on a cluster they are on the nodes: its
    "probable cause" is then Hadoop's Java trace, which hides the task's own error."""
    interpretations = getattr(job_runner, "_log_interpretations", None) or [{}]
    application = interpretations[-1].get("step", {}).get("application_id")
    if not application:
        return
    command = f"yarn logs -applicationId {application} -log_files stderr"
    hadoop = job_runner.get_hadoop_bin()[0]
    beside = os.path.join(os.path.dirname(hadoop), "yarn")
    yarn = beside if os.path.isfile(beside) else shutil.which("yarn")
    error = None
    deadline = time.monotonic() + AGGREGATION_WAIT
    while yarn is not None and error is None:
        try:
            logs = subprocess.run([yarn] + command.split()[1:], capture_output=True,
                                  text=True, errors="replace", timeout=120).stdout
        except (OSError, subprocess.TimeoutExpired):
            break
        error = last_python_error(logs)
        if error is None:
            if time.monotonic() > deadline:
                break
            time.sleep(3)
    step = getattr(failure, "step_num", None)
    where = f"step {step + 1} of {getattr(failure, 'num_steps', '?')}: " \
        if step is not None else ""
    if error is None:
        raise JobFailed(f"{where}a task failed; its own error is in its log: {command}")
    raise JobFailed(f"{where}a task failed with: {error} (from {command})")


def last_python_error(text: str) -> Optional[str]:
    """The exception line that ends the last Python traceback in ``text``, or None."""
    error, inside = None, False
    for line in text.splitlines():
        if line.startswith("Traceback (most recent call last):"):
            inside = True
        elif inside and line.strip() and not line[0].isspace():
            error, inside = line.strip(), False
    return error
