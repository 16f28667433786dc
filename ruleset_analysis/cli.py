"""The ``ruleset-analysis`` command: a thin click layer over preprocess, job and report."""
from __future__ import annotations

import datetime
import functools
import json
import logging
import os
import shutil
import sys
import tempfile
import traceback

import click

from .aggregate import PERMIT_SOURCES
from .asa.config import ConfigError
from .asa.syslog import year_rule
from .database import DatabaseError, load_firewalls, read_meta, save_firewalls
from .job import DEFAULT_MAX_CONNECTIONS
from .preprocess import read_config, summary
from .report import ResultsError, build_report, read_results

RUNNERS = ("inline", "local", "hadoop", "spark", "emr", "dataproc")
FORMATS = ("text", "json", "csv", "html")
USER_ERRORS = (ConfigError, DatabaseError, ResultsError, OSError)


EXIT_OK, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2


class Cli(click.Group):
    """Every error is one line on standard error. Exit status: 0 ok, 1 usage or input error
    (the message names the file and line where it applies), 2 internal error (--verbose
    prints the traceback)."""

    def main(self, args=None, prog_name=None, **extra):
        from mrjob.step import StepFailedException
        args = list(sys.argv[1:] if args is None else args)
        verbose = "--verbose" in args
        try:
            super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_INPUT)
        except click.ClickException as exc:
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            sys.exit(EXIT_INPUT)
        except BrokenPipeError:         # `ruleset-analysis parse-log ... | head`: not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_OK)
        except USER_ERRORS as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_INPUT)
        except StepFailedException as exc:
            click.echo(f"Error: the job failed: {exc} (the task's error is above)", err=True)
            sys.exit(EXIT_INPUT)
        except Exception as exc:        # a bug: say so in one line, details on request
            if verbose:
                traceback.print_exc()
            click.echo(f"Internal error: {type(exc).__name__}: {exc} (run with --verbose for "
                       "the traceback, and please report it)", err=True)
            sys.exit(EXIT_INTERNAL)
        sys.exit(EXIT_OK)


@click.group(cls=Cli)
@click.version_option(package_name="ruleset-analysis")
@click.option("--verbose", is_flag=True,
              help="Show the job's progress and, for an internal error, its traceback.")
def main(verbose):
    """Which firewall ACL rules are used, by what traffic, and when.

    Typical use: preprocess the configs, run the job over the logs, report.
    `analyze` does all three on this machine.

    Exit status: 0 ok, 1 usage or input error, 2 internal error.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(message)s")
    logging.getLogger("mrjob").setLevel(logging.INFO if verbose else logging.ERROR)


def db_option(f):
    return click.option("--db", "db", default="accesslists.db", show_default=True,
                        type=click.Path(dir_okay=False),
                        help="Ruleset database (sqlitedict, JSON-encoded).")(f)


def job_options(f, runner="inline"):
    f = click.option("-r", "--runner", type=click.Choice(RUNNERS), default=runner,
                     show_default=True, help="mrjob runner: where the job runs ('local' runs "
                                             "map tasks in parallel on this machine).")(f)
    f = click.option("--assume-firewall", default=None,
                     help="Attribute to this firewall of the database every log line whose "
                          "device id the database does not know (lines naming one of its "
                          "firewalls keep theirs).")(f)
    f = click.option("--year", default=None, callback=check_year,
                     help="YYYY or YYYY-MM the logs start in, for lines written without a "
                          "year; earlier months are the next year  [default: the 12 months "
                          "up to today].")(f)
    f = click.option("--permits-from", type=click.Choice(PERMIT_SOURCES), default="built",
                     show_default=True,
                     help="Message that counts a permitted connection: connection-built "
                          "lines, or ACL-log (106100) lines for logs without them.")(f)
    f = click.option("--since", default=None, callback=check_date,
                     help="First day analysed (YYYY-MM-DD); earlier lines are counted as "
                          "outside_period.")(f)
    f = click.option("--until", default=None, callback=check_date,
                     help="Last day analysed (YYYY-MM-DD), inclusive.")(f)
    f = click.option("--max-connections", type=click.IntRange(min=1),
                     default=DEFAULT_MAX_CONNECTIONS, show_default=True,
                     help="Distinct connections kept per ACE; hit counts stay exact.")(f)
    return f


def cluster_options(f):
    f = click.option("--job-name", default=None, help="Cluster job name.")(f)
    f = click.option("--reducers", type=click.IntRange(min=1), default=None,
                     help="Number of reduce tasks on a cluster.")(f)
    f = click.option("--priority", type=click.Choice(["VERY_HIGH", "HIGH", "NORMAL", "LOW",
                                                      "VERY_LOW"]), default=None,
                     help="Hadoop job priority.")(f)
    f = click.option("--mrjob-conf", type=click.Path(dir_okay=False), default=None,
                     help="mrjob.conf with the cluster's settings (see docs/).")(f)
    return f


CLUSTER_RUNNERS = ("hadoop", "emr", "dataproc")


def check_year(ctx, param, value):
    if value is not None:
        try:
            year_rule(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def report_options(f):
    f = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
                     show_default=True, help="Report format.")(f)
    f = click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                     help="Write the report to this file instead of standard output.")(f)
    f = click.option("--top", type=click.IntRange(min=1), default=DEFAULT_MAX_CONNECTIONS,
                     show_default=True, help="Connections listed per ACE.")(f)
    f = click.option("--firewall", "only_firewall", default=None,
                     help="Report only this firewall (its own line counts too).")(f)
    f = click.option("--acl", "only_acl", default=None, help="Report only this ACL.")(f)
    f = click.option("--min-hits", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Report only ACEs with at least this many hits.")(f)
    f = click.option("--unused-since", type=click.IntRange(min=0), default=None,
                     help="Call unused what had no hit in this many days before --as-of "
                          "(default: what had no hit at all).")(f)
    f = click.option("--as-of", default=None, callback=check_date,
                     help="YYYY-MM-DD for --unused-since  [default: the last day of the "
                          "analysis window].")(f)
    return f


def check_date(ctx, param, value):
    if value is not None:
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not YYYY-MM-DD") from None
    return value


def filters_of(only_firewall, only_acl, min_hits, as_of, unused_since):
    from .report import Filters
    return Filters(only_firewall, only_acl, min_hits, as_of, unused_since)


@main.command()
@click.argument("configs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@db_option
@click.option("--name", default=None,
              help="Name the firewall (one config only), e.g. fw01/ctx1 for a security context; "
                   "default: its hostname.")
def preprocess(configs, db, name):
    """Parse ASA/FWSM CONFIGS, expand every ACE into rules and store them in the database.

    Firewalls already in the database are replaced, others are kept. Log lines are attributed
    by the names a firewall logs under: its name, its hostname, a context's name and its
    `logging device-id`.
    """
    if name is not None and len(configs) != 1:
        raise click.UsageError("--name goes with exactly one config")
    firewalls = [read_config(path, name) for path in configs]
    save_firewalls(db, firewalls)
    print_summary(firewalls, db)


def print_summary(firewalls, db):
    from tabulate import tabulate
    rows = [summary(fw) for fw in firewalls]
    for fw in firewalls:
        for warning in fw.warnings:
            click.echo(f"warning: {warning}", err=True)
    click.echo(tabulate(rows, headers="keys", tablefmt="simple"), err=True)
    click.echo(f"{len(firewalls)} firewall(s) written to {db}", err=True)


@main.command()
@click.argument("logs", nargs=-1, required=True)
@db_option
@job_options
@cluster_options
@click.option("-o", "--output", "results", type=click.Path(dir_okay=False), default=None,
              help="Write the results here  [default: standard output].")
def run(logs, db, runner, assume_firewall, year, permits_from, since, until, max_connections,
        job_name, reducers, priority, mrjob_conf, results):
    """Run the MapReduce job over LOGS and write its results.

    LOGS are files (plain, .gz or .bz2) or directories, which are searched recursively; local
    paths, or hdfs://, s3://, gs:// with a cluster runner. Each file is read once; a
    directory holding both X and X.gz is refused (the same lines twice).
    """
    cluster = {"job_name": job_name, "reducers": reducers, "priority": priority,
               "conf": mrjob_conf}
    lines = run_job(logs, db, runner, assume_firewall, year, permits_from, max_connections,
                    since, until, cluster)
    write_output(results, "".join(line + "\n" for line in lines))


COMPRESSED = (".gz", ".bz2")


def local_inputs(logs) -> list:
    """The files the job reads, each once: directories are read recursively (as mrjob
    does), a path given twice or reached twice is read once, and a file beside its own
    compressed copy (``x.log`` and ``x.log.gz``, as ``gzip -k`` leaves them) is an error: its
    connections would count twice."""
    files: dict = {}
    for path in logs:
        if os.path.isdir(path):
            found = [os.path.join(root, name) for root, dirs, names in os.walk(path)
                     for name in sorted(names)]
        else:
            found = [path]
        for name in found:
            files.setdefault(os.path.realpath(name), name)
    by_content: dict = {}
    for real, name in files.items():
        stem = real[:-len(real.rsplit(".", 1)[-1]) - 1] if real.endswith(COMPRESSED) else real
        if stem in by_content:
            raise ConfigError(f"{by_content[stem]} and {name} hold the same log (one is the "
                              "other compressed): give only one of them")
        by_content[stem] = name
    return list(files.values())


def job_args(logs, db, runner, assume_firewall=None, year=None, permits_from="built",
             max_connections=DEFAULT_MAX_CONNECTIONS, since=None, until=None, cluster=None,
             package=None) -> list:
    """The mrjob command line of a run. ``package``: a zip of this package for cluster
    tasks, which get it through --py-files instead of a pip install on every node."""
    args = ["-r", runner, "--db", db, "--max-connections", str(max_connections),
            "--permits-from", permits_from]
    for option, value in (("--assume-firewall", assume_firewall), ("--year", year),
                          ("--since", since), ("--until", until)):
        if value is not None:
            args += [option, value]
    cluster = cluster or {}
    if runner == "spark" and not cluster.get("conf"):
        # Spark on this machine: its Python workers must be this interpreter, the one with
        # this package. A cluster's mrjob.conf sets python_bin instead.
        args += ["--python-bin", sys.executable]
    if cluster.get("conf"):
        args += ["--conf-path", cluster["conf"]]
    for key, value in (("mapreduce.job.name", cluster.get("job_name")),
                       ("mapreduce.job.reduces", cluster.get("reducers")),
                       ("mapreduce.job.priority", cluster.get("priority"))):
        if value is not None:
            args += ["--jobconf", f"{key}={value}"]
    if package is not None:
        args += ["--py-files", package]
    return args + list(logs)


def run_job(logs, db, runner, assume_firewall, year, permits_from, max_connections,
            since=None, until=None, cluster=None) -> list:
    from .job import RulesetAnalysisJob
    from .streaming import package_zip
    names = read_meta(db)["firewalls"]
    if assume_firewall is not None and assume_firewall not in names:
        raise DatabaseError(f"{db}: firewall '{assume_firewall}' is not in the database "
                            f"(it has: {', '.join(names) or 'none'})")
    if since and until and until < since:
        raise click.UsageError(f"--until {until} is before --since {since}")
    local = runner in ("inline", "local")
    if local:
        for path in logs:
            if not os.path.exists(path):
                raise ConfigError(f"{path}: log file not found")
        logs = local_inputs(logs)
    else:
        logs = list(dict.fromkeys(logs))
    with tempfile.TemporaryDirectory(prefix="ruleset-analysis-") as scratch:
        # mrjob's decompression stops silently where an archive is truncated, and fails on a
        # corrupt one: check them first, say what is missing (in the results and the report
        # too), and read the lines before the break.
        problems = []
        if local:
            logs, problems = check_archives(logs, os.path.join(scratch, "readable"))
        package = package_zip(os.path.join(scratch, "ruleset_analysis.zip")) \
            if runner in CLUSTER_RUNNERS else None
        job = RulesetAnalysisJob(args=job_args(logs, db, runner, assume_firewall, year,
                                               permits_from, max_connections, since, until,
                                               cluster, package))
        with job.make_runner() as job_runner:
            job_runner.run()
            if runner in CLUSTER_RUNNERS:
                click.echo(f"results of the job: {job_runner.get_output_dir()}", err=True)
            output = b"".join(job_runner.cat_output())
    lines = [line for line in output.decode("utf-8").splitlines() if line]
    lines += [f"{json.dumps('input_error' + chr(9) + path)}\t{json.dumps(message)}"
              for path, message in problems]
    # Reducers finish in any order; sorted results make every runner's output identical.
    return sorted(lines)


def check_archives(files: list, scratch: str) -> tuple:
    """-> (the files to read, [(path, message)] for each .gz/.bz2 input that cannot be read to
    its end). Such an input is replaced by a plain copy of its readable lines under
    ``scratch``, at the same path below it, so its directory still names its firewall."""
    from .report.lines import LogError, check_compressed, read_lines
    readable, problems = [], []
    for path in files:
        if path.endswith(COMPRESSED):
            try:
                check_compressed(path)
            except LogError as exc:
                click.echo(f"warning: {exc}" + ("" if " but holds " in str(exc) else
                                                 "; the lines before it are analysed, the "
                                                 "rest is missing"), err=True)
                problems.append((path, str(exc)))
                copy = os.path.join(scratch, os.path.abspath(path).lstrip(os.sep))
                copy = copy.rsplit(".", 1)[0]
                os.makedirs(os.path.dirname(copy), exist_ok=True)
                with open(copy, "w", encoding="utf-8", errors="surrogateescape") as handle:
                    try:
                        for line in read_lines(path):
                            handle.write(line + "\n")
                    except LogError:
                        pass
                path = copy
        readable.append(path)
    return readable, problems


@main.command()
@db_option
@click.option("--firewall", default=None, help="Only this firewall.")
@click.option("--acl", default=None, help="Only this ACL.")
def show(db, firewall, acl):
    """Print the parsed, expanded ruleset with the rule identifiers reports use."""
    from .report.ruleset import render_ruleset
    firewalls = load_firewalls(db)
    if firewall is not None and firewall not in firewalls:
        raise DatabaseError(f"{db}: no firewall '{firewall}' (it has: {', '.join(firewalls)})")
    click.echo(render_ruleset(firewalls, firewall, acl), nl=False)


@main.command()
@db_option
@click.option("--firewall", default=None,
              help="Firewall of the database  [default: the only one].")
@click.option("--interface", "ingress", required=True,
              help="Ingress interface (nameif) of the initiator.")
@click.option("--egress", default=None,
              help="Egress interface  [default: from interface networks and routes].")
@click.argument("protocol")
@click.argument("flow", nargs=-1, required=True)
def lookup(db, firewall, ingress, egress, protocol, flow):
    """Which ACE and expanded rule a flow hits first, and through which ACL.

    FLOW is SRC [SPORT] DST [DPORT]; for icmp, DPORT is the ICMP type. Give the addresses an
    ACL sees: real ones on ASA 8.3+, mapped ones as the interface sees them before 8.3.
    """
    from .report.ruleset import lookup as explain
    firewalls = load_firewalls(db)
    fw = pick_firewall(firewalls, firewall, db)
    connection = flow_connection(fw, protocol, ingress, egress, flow)
    click.echo(explain(fw, connection), nl=False)


def pick_firewall(firewalls: dict, name, db):
    if name is None:
        if len(firewalls) != 1:
            raise click.UsageError(f"{db} has {len(firewalls)} firewalls: name one with "
                                   "--firewall")
        return next(iter(firewalls.values()))
    if name not in firewalls:
        raise DatabaseError(f"{db}: no firewall '{name}' (it has: {', '.join(firewalls)})")
    return firewalls[name]


def flow_connection(fw, protocol, ingress, egress, flow):
    from .asa.literals import (
        ICMP,
        ICMP6,
        icmp_type_number,
        port_number,
        protocol_name,
        protocol_number,
    )
    from .model import Connection
    from .routing import RoutingTable

    def is_address(token):
        return "." in token or ":" in token or token in fw.names

    tokens = list(flow)
    if len(tokens) == 3 and not is_address(tokens[1]):
        tokens.append(None)            # SRC SPORT DST
    elif len(tokens) == 3:
        tokens.insert(1, None)         # SRC DST DPORT
    elif len(tokens) == 2:
        tokens = [tokens[0], None, tokens[1], None]
    if len(tokens) != 4:
        raise click.UsageError("FLOW is SRC [SPORT] DST [DPORT]")
    src, sport, dst, dport = tokens
    try:
        number = None if protocol == "ip" else protocol_number(protocol)
        name = protocol_name(number) if number is not None else "ip"
        if number in (ICMP, ICMP6):
            dport_value = icmp_type_number(dport, number) if dport else 0
        else:
            dport_value = port_number(dport) if dport else 0
        sport_value = port_number(sport) if sport else 0
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if ingress not in fw.interfaces:
        raise click.UsageError(f"{fw.name} has no interface '{ingress}' "
                               f"(it has: {', '.join(fw.interfaces)})")
    egress = egress or RoutingTable(fw).interface_for(fw.names.get(dst, dst)) or ""
    return Connection(fw.name, "", name, src, sport_value, dst, dport_value, ingress, egress,
                      "lookup")


@main.command("parse-log")
@click.argument("logs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--db", default=None, type=click.Path(dir_okay=False),
              help="With a database: also say which firewall, category and ACEs the job "
                   "credits each line to.")
@click.option("--assume-firewall", default=None,
              help="Attribute lines whose device id the database does not know to this "
                   "firewall.")
@click.option("--year", default=None, callback=check_year,
              help="YYYY or YYYY-MM the logs start in (see 'run --help').")
@click.option("--permits-from", type=click.Choice(PERMIT_SOURCES), default="built",
              show_default=True, help="Message that counts a permitted connection.")
@click.option("--since", default=None, callback=check_date,
              help="First day analysed (YYYY-MM-DD), as for 'run'.")
@click.option("--until", default=None, callback=check_date,
              help="Last day analysed (YYYY-MM-DD), as for 'run'.")
def parse_log(logs, db, assume_firewall, year, permits_from, since, until):
    """Print how each line of LOGS is read, one JSON object per line.

    The tool for a rule that shows fewer hits than expected: every line's category, the
    connection it carries (oriented: source is the initiator), and with --db what it credits.
    """
    import json

    from .report.lines import explain
    firewalls = load_firewalls(db) if db else None
    if assume_firewall is not None and (firewalls is None or assume_firewall not in firewalls):
        raise click.UsageError("--assume-firewall needs --db with that firewall")
    if since and until and until < since:
        raise click.UsageError(f"--until {until} is before --since {since}")
    for entry in explain(list(logs), firewalls, year, assume_firewall, permits_from, since,
                         until):
        click.echo(json.dumps(entry))


@main.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=False))
@db_option
@report_options
def report(results, db, fmt, output, top, only_firewall, only_acl, min_hits, unused_since,
           as_of):
    """Report per ACE from the job's RESULTS (several files are merged) and the database."""
    filters = filters_of(only_firewall, only_acl, min_hits, as_of, unused_since)
    write_output(output, make_report(results, db, fmt, top, filters))


def make_report(results, db, fmt, top, filters) -> str:
    from .report import csv_report, html_report, json_report, prune, text
    firewalls = load_firewalls(db)
    filters.check(firewalls)
    data = build_report(firewalls, read_results(results), top, filters)
    for entry in data["firewalls"]:
        if entry["status"] == "no data":
            click.echo(f"warning: {entry['firewall']}: no data: {entry['reason']}; none of its "
                       "ACEs is judged unused", err=True)
    if data["unknown_results"]:
        click.echo(f"warning: {len(data['unknown_results'])} ACE(s) in the results are not in "
                   f"{db}; the report lists them under unknown_results", err=True)
    renderers = {"json": json_report, "csv": csv_report, "text": text, "prune": prune,
                 "html": html_report}
    return renderers[fmt].render(data)


@main.command("diff")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the comparison to this file instead of standard output.")
def diff_command(old, new, output):
    """Compare two JSON reports (report --format json) of different periods: the ACEs whose
    use started or stopped, whose hits changed, and those only in one of them."""
    from .report import diff
    write_output(output, diff.render(read_json_report(old), read_json_report(new)))


def read_json_report(path: str) -> dict:
    from .report import ResultsError
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise ValueError("no rules")
        data.setdefault("window", {"first": None, "last": None})
        return data
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read report: {exc.strerror}") from None
    except ValueError as exc:
        raise ResultsError(f"{path}: not a JSON report of 'report --format json' ({exc})") \
            from None


@main.command("prune")
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=False))
@db_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the commands to this file instead of standard output.")
@click.option("--firewall", "only_firewall", default=None, help="Only this firewall.")
@click.option("--acl", "only_acl", default=None, help="Only this ACL.")
@click.option("--unused-since", type=click.IntRange(min=0), default=None,
              help="Propose what had no hit in this many days before --as-of (default: what "
                   "had no hit at all).")
@click.option("--as-of", default=None, callback=check_date,
              help="YYYY-MM-DD for --unused-since  [default: the last day of the analysis "
                   "window].")
def prune_command(results, db, output, only_firewall, only_acl, unused_since, as_of):
    """Write the ASA commands that would remove unused ACEs and object-group members.

    For review only: nothing is applied. Only ACEs and members the analysis could judge are
    proposed, each with a comment saying why.
    """
    filters = filters_of(only_firewall, only_acl, 0, as_of, unused_since)
    write_output(output, make_report(results, db, "prune", DEFAULT_MAX_CONNECTIONS, filters))


@main.command()
@click.option("-c", "--config", "configs", multiple=True, required=True,
              type=click.Path(dir_okay=False), help="A firewall config (repeat for several).")
@click.argument("logs", nargs=-1, required=True)
@click.option("--db", default=None, type=click.Path(dir_okay=False),
              help="Keep the ruleset database here  [default: a temporary file].")
@click.option("--results", "results_path", default=None, type=click.Path(dir_okay=False),
              help="Keep the job's results here (for 'report' later).")
@functools.partial(job_options, runner="local")
@report_options
def analyze(configs, logs, db, results_path, runner, assume_firewall, year, permits_from,
            since, until, max_connections, fmt, output, top, only_firewall, only_acl, min_hits,
            unused_since, as_of):
    """Preprocess CONFIGS, run the job over LOGS on this machine and report, in one go.

    LOGS are files or directories (searched recursively), each read once.
    """
    workdir = tempfile.mkdtemp(prefix="ruleset-analysis-")
    try:
        db = db or os.path.join(workdir, "accesslists.db")
        firewalls = [read_config(path) for path in configs]
        save_firewalls(db, firewalls)
        print_summary(firewalls, db)
        lines = run_job(logs, db, runner, assume_firewall, year, permits_from,
                        max_connections, since, until)
        results_path = results_path or os.path.join(workdir, "results")
        write_output(results_path, "".join(line + "\n" for line in lines))
        filters = filters_of(only_firewall, only_acl, min_hits, as_of, unused_since)
        write_output(output, make_report([results_path], db, fmt, top, filters))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def write_output(path, text: str) -> None:
    """Standard output, or a file written whole: a temporary file renamed into place."""
    if path is None:
        sys.stdout.write(text)
        return
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        # mkstemp creates 0600: give the file the mode a plain open() would (the umask's)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


if __name__ == "__main__":
    main()
