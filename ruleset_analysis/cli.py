"""The ``ruleset-analysis`` command: it only declares commands and their options.

Where the work is done: ``preprocess.py`` (configs), ``runner.py`` (the job), ``report/``
(reports, lookup, parse-log). Every error is one line (see ``Cli``).
"""
from __future__ import annotations

import errno
import functools
import io
import json
import logging
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
import traceback
from typing import Any, Callable, Iterable, Optional

import click

from .aggregate import identity_conflicts
from .asa.captures import CaptureError
from .asa.config import ConfigError
from .database import (
    DatabaseError,
    load_captures,
    load_firewalls,
    load_identities,
    save_firewalls,
)
from .model import collector_paused
from .options import CHECKS, DEFAULT_MAX_CONNECTIONS, OPTIONS, JobOptions, check_date
from .preprocess import read_firewalls, summary
from .records import ResultsError, read_results, results_of_lines
from .report.build import Filters
from .report.safe import one_line, printable
from .revisions import split_spec
from .runner import RUNNERS, Cluster, JobFailed, run_job

FORMATS = ("text", "json", "csv", "html")
USER_ERRORS = (ConfigError, CaptureError, DatabaseError, ResultsError, OSError)
EXIT_OK, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2
# The signals that end a command as Ctrl-C does, what it says then; its status is 128 + the
# signal's number, as a shell reports a process a signal ended.
ENDING_SIGNALS = {signal.SIGTERM: "Terminated."}
if hasattr(signal, "SIGHUP"):       # its terminal gone (an ssh session dropped), not Windows
    ENDING_SIGNALS[signal.SIGHUP] = "Hangup."


class Terminated(BaseException):
    """SIGTERM (a scheduler's stop, a timeout, kill) or SIGHUP (the terminal gone): raised
    where the command is, like Ctrl-C's KeyboardInterrupt, so that what it made is removed on
    the way out (else Python ends at once: a million-rule database left in the temp
    directory, a report's temporary file beside it). Not an Exception: nothing that handles
    errors takes it for one."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _terminated(signum, frame) -> None:
    raise Terminated(signum)


def _take_ending_signals() -> dict:
    """Make the ending signals raise Terminated: -> their handlers before. None taken where
    this is not the main thread (signals are not its to take); SIGHUP not where it is
    ignored (nohup: the command is to outlive its terminal)."""
    previous = {}
    for signum in ENDING_SIGNALS:
        if signum != signal.SIGTERM and signal.getsignal(signum) == signal.SIG_IGN:
            continue
        try:
            previous[signum] = signal.signal(signum, _terminated)
        except ValueError:
            break
    return previous


class _PipeClosed(Exception):
    """Standard output's reader went away (`| head`): not an error. Raised past click, which
    takes a BrokenPipeError for a failure (status 1, since click 8.2)."""


class _Stdout(io.TextIOWrapper):
    """Standard output: its reader's going away raised as _PipeClosed, its other errors (a
    full disk) as one naming it."""

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except OSError as exc:
            raise _stdout_error(exc) from None

    def flush(self) -> None:
        try:
            super().flush()
        except OSError as exc:
            raise _stdout_error(exc) from None


def _stdout_error(exc: OSError) -> Exception:
    if isinstance(exc, BrokenPipeError):
        return _PipeClosed()
    return _unwritable("standard output", exc)


def _settle_stdout() -> None:
    """Standard output flushed; where it cannot be (said already), what it holds dropped,
    rather than fail again at the interpreter's exit (status 120)."""
    if sys.stdout is None:          # (started with it closed)
        return
    try:
        sys.stdout.flush()
    except Exception:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass


def _own_stdout() -> None:
    """Standard output as _Stdout, and buffered where it is not (PYTHONUNBUFFERED, which
    container images often set: its text layer then writes to the raw file and ignores a
    short write (CPython), so a report redirected to a disk that filled was cut short,
    silently, with status 0; buffered, a short write is retried and a full disk raises);
    lines then leave as they are written. A stream of another kind (a test's) is left as
    it is."""
    stream = sys.stdout
    binary = getattr(stream, "buffer", None)
    line_buffering = stream.line_buffering if isinstance(stream, io.TextIOWrapper) else False
    if isinstance(binary, io.FileIO):
        binary, line_buffering = io.BufferedWriter(binary), True
    elif not isinstance(binary, io.BufferedWriter) or isinstance(stream, _Stdout):
        return
    stream.flush()
    sys.stdout = _Stdout(binary, encoding=stream.encoding, errors=stream.errors,
                         line_buffering=line_buffering)


class Cli(click.Group):
    """Every error is one line on standard error. Exit status: 0 ok, 1 usage or input error
    (the message names the file and line where it applies), 2 internal error (--verbose
    prints the traceback), 143 ended by SIGTERM, 129 by SIGHUP."""

    verbose = False                 # set by the group's --verbose, once parsed
    quiet = False                   # set by the group's --quiet

    def main(self, args=None, prog_name=None, **extra):
        args = list(sys.argv[1:] if args is None else args)
        Cli.verbose = Cli.quiet = False
        _own_stdout()
        previous = _take_ending_signals()
        try:
            super().main(args, prog_name, standalone_mode=False, **extra)
            if sys.stdout is not None:  # here, not at the interpreter's exit: said if it fails
                sys.stdout.flush()
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_INPUT)
        except Terminated as ended:
            click.echo(ENDING_SIGNALS[ended.signum], err=True)
            sys.exit(128 + ended.signum)
        except click.ClickException as exc:
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            sys.exit(EXIT_INPUT)
        except (_PipeClosed, BrokenPipeError):    # `ruleset-analysis parse-log … | head`
            sys.exit(EXIT_OK)           # (what it held is dropped: _settle_stdout)
        except USER_ERRORS as exc:
            click.echo(one_line(f"Error: {exc}"), err=True)
            sys.exit(EXIT_INPUT)
        except JobFailed as exc:
            click.echo(one_line(f"Error: the job failed: {exc}"), err=True)
            sys.exit(EXIT_INPUT)
        except Exception as exc:        # a bug: say so in one line, details on request
            # mrjob is imported by its runners only (0.4 s of every command's start else)
            step = sys.modules.get("mrjob.step")
            if step is not None and isinstance(exc, step.StepFailedException):
                click.echo(f"Error: the job failed: {exc} (the task's error is above)",
                           err=True)
                sys.exit(EXIT_INPUT)
            if Cli.verbose:
                traceback.print_exc()
            click.echo(f"Internal error: {type(exc).__name__}: {exc} (run with --verbose for "
                       "the traceback, and please report it)", err=True)
            sys.exit(EXIT_INTERNAL)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            _settle_stdout()
        sys.exit(EXIT_OK)


@click.group(cls=Cli)
@click.version_option(package_name="ruleset-analysis")
@click.option("--verbose", is_flag=True,
              help="Show mrjob's log of the job and, for an internal error, its traceback.")
@click.option("--quiet", is_flag=True, help="No progress line (shown only on a terminal).")
def main(verbose, quiet):
    """Which firewall ACL rules are used, by what traffic, and when.

    Typical use: preprocess the configs, run the job over the logs, report.
    `analyze` does all three on this machine.

    Exit status: 0 ok, 1 usage or input error, 2 internal error.
    """
    Cli.verbose, Cli.quiet = verbose, quiet
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(message)s")
    logging.getLogger("mrjob").setLevel(logging.INFO if verbose else logging.ERROR)


# -- options shared by several commands ----------------------------------------------------
def db_option(f):
    return click.option("--db", "db", default="accesslists.db", show_default=True,
                        type=click.Path(dir_okay=False),
                        help="Ruleset database (sqlitedict, JSON-encoded).")(f)


def _checked(check: Callable[[str], str]):
    def callback(ctx, param, value):
        if value is not None:
            try:
                check(value)
            except ValueError as exc:
                raise click.BadParameter(str(exc)) from None
        return value
    return callback


def job_options(f=None, *, reducer: bool = True):
    """The job's options (``options.OPTIONS``), handed to the command as one ``job``
    argument (a ``JobOptions``)."""
    def decorate(command):
        # without the reducer's: the options of how each line is read
        names = [o.dest for o in OPTIONS if not o.reducer or reducer]

        @functools.wraps(command)
        def wrapper(*args, **kwargs):
            values = {name: kwargs.pop(name) for name in names}
            try:
                job = JobOptions(**{k: v for k, v in values.items() if v is not None})
            except ValueError as exc:
                raise click.UsageError(str(exc)) from None
            return command(*args, job=job, **kwargs)
        for option in reversed(OPTIONS):
            if option.reducer and not reducer:
                continue
            extra: dict = {"callback": _checked(CHECKS[option.dest])} \
                if option.dest in CHECKS else {}
            kind = click.Choice(option.choices) if option.choices else \
                click.IntRange(min=1) if option.kind is int else None
            wrapper = click.option(option.flag, default=option.default, type=kind,
                                   show_default=option.default is not None,
                                   help=option.help[0].upper() + option.help[1:] + ".",
                                   **extra)(wrapper)
        return wrapper
    return decorate(f) if f is not None else decorate


def progress_stream():
    """Standard error when it is a terminal and --quiet is not given: where progress goes."""
    return sys.stderr if sys.stderr.isatty() and not Cli.quiet else None


def runner_option(default: str):
    return click.option("-r", "--runner", type=click.Choice(RUNNERS), default=default,
                        show_default=True, help="Where the job runs: 'local' streams the "
                        "inputs through a worker per CPU here, 'inline' runs mrjob's "
                        "single-process runner, the others are mrjob's cluster runners.")


def check_workers(workers: Optional[int], runner: str) -> None:
    if workers is not None and runner != "local":
        raise click.UsageError(f"--workers is the local runner's (-r local), not -r {runner}'s")


def workers_option(f=None, *, configs: bool = False):
    """-j/--workers; ``configs``: the command reads configs too (analyze), in as many."""
    reading = ", and at most as many processes reading the configs" if configs else ""

    def decorate(command):
        return click.option(
            "-j", "--workers", type=click.IntRange(min=1), default=None,
            help=f"Worker processes of the local runner (-r local){reading}  [default: one "
                 "per CPU this process may use (a container's quota too), as many as the "
                 "available memory holds at 320 MB each] (each holds the ruleset and its "
                 "counts: 200-350 MB at a million rules).")(command)
    return decorate(f) if f is not None else decorate


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


def report_options(f):
    """What a report shows, handed to the command as one ``filters`` argument."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        filters = Filters(kwargs.pop("only_firewall"), kwargs.pop("only_acl"), 0,
                          kwargs.pop("as_of"), kwargs.pop("unused_since"),
                          not kwargs.pop("no_shadowing"))
        return f(*args, filters=filters, **kwargs)
    wrapper = click.option("--firewall", "only_firewall", default=None,
                           help="Report only this firewall (its own line counts too).")(wrapper)
    wrapper = click.option("--acl", "only_acl", default=None,
                           help="Report only this ACL.")(wrapper)
    wrapper = click.option("--unused-since", type=click.IntRange(min=0), default=None,
                           help="Call unused what had no hit in this many days before "
                                "--as-of, where the logs cover them (default: what had no "
                                "hit at all).")(wrapper)
    wrapper = click.option("--no-shadowing", is_flag=True,
                           help="Skip the shadowing and redundancy analysis (from the config "
                                "alone; seconds for ACLs of 10,000 ACEs).")(wrapper)
    wrapper = click.option("--as-of", default=None, callback=_checked(check_date),
                           help="YYYY-MM-DD for --unused-since  [default: each firewall's "
                                "last day of logs].")(wrapper)
    return wrapper


def format_options(f):
    f = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
                     show_default=True, help="Report format.")(f)
    f = click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                     help="Write the report to this file instead of standard output.")(f)
    f = click.option("--top", type=click.IntRange(min=1), default=DEFAULT_MAX_CONNECTIONS,
                     show_default=True, help="Connections listed per ACE.")(f)
    f = click.option("--min-hits", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Report only ACEs with at least this many hits.")(f)
    return f


def check_outputs(outputs, inputs) -> None:
    """Refuse an output that is one of the inputs, or lies inside an input directory (the
    next run would read it as a log); and, now rather than after the job (hours of it, lost
    with the report), one that cannot be written: its directory missing or not ours to
    write in, a device or a directory in its place."""
    files, directories = set(), []
    for path in inputs:
        if path and "://" not in str(path) and os.path.exists(path):
            real = os.path.realpath(path)
            (directories.append(real) if os.path.isdir(real) else files.add(real))
    for output in outputs:
        if output is None or output == "-":
            continue
        real = os.path.realpath(output)
        if real in files or any(real.startswith(d + os.sep) for d in directories):
            raise click.UsageError(f"{output} is an input of this command: refusing to "
                                   "overwrite it")
        if os.path.exists(real):
            if not stat.S_ISFIFO(os.stat(real).st_mode) and not os.path.isfile(real):
                raise _not_a_file(output)
            continue
        directory = os.path.dirname(real)
        for missing, code in ((not os.path.isdir(directory), errno.ENOENT),
                              (not os.access(directory, os.W_OK | os.X_OK), errno.EACCES)):
            if missing:
                raise _unwritable(output, OSError(code, os.strerror(code)))


def write_output(path: Optional[str], text: str) -> None:
    write_pieces(path, (text,))


def write_pieces(path: Optional[str], pieces: Iterable[str]) -> None:
    """Text made in pieces, each written as it comes (never the whole at once), to standard
    output ('-' too), a FIFO (streamed), or a regular file written whole: a temporary file
    beside it, renamed into place, with the mode a plain open() gives (the umask's); through a
    symlink, its target is written. A device, a directory or anything else is refused. Not
    click.open_file(atomic=True): click 8 renames its temporary file over the target even
    when the write failed."""
    if path is None or path == "-":
        if sys.stdout is None:
            raise ConfigError("standard output is closed: give -o FILE")
        for piece in pieces:
            sys.stdout.write(piece)
        return
    target = os.path.realpath(path)
    if os.path.exists(target):
        mode = os.stat(target).st_mode
        if stat.S_ISFIFO(mode):
            with open(target, "w", encoding="utf-8", errors="backslashreplace") as handle:
                for piece in pieces:
                    handle.write(piece)
            return
        if not stat.S_ISREG(mode):
            raise _not_a_file(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".tmp-")
    except OSError as exc:
        raise _unwritable(path, exc) from None
    # (what UTF-8 cannot hold, escaped: a report whose making is done is not lost to it)
    handle = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        # The file's own errors (a full disk) named as its; the pieces' raised as they are.
        for piece in pieces:
            try:
                handle.write(piece)
            except OSError as exc:
                raise _unwritable(path, exc) from None
        try:
            handle.close()                  # (its last bytes written)
            os.replace(tmp, target)
        except OSError as exc:
            raise _unwritable(path, exc) from None
    except BaseException:
        try:
            handle.close()
        except OSError:
            pass                            # (what it held is dropped with it)
        os.unlink(tmp)
        raise


def _unwritable(path: str, exc: OSError) -> ConfigError:
    return ConfigError(f"{path}: cannot write: {exc.strerror or exc}")


def _not_a_file(path: str) -> ConfigError:
    return ConfigError(f"{path}: not a regular file (a device, directory or socket): "
                       "refusing to replace it")


def write_report(output: Optional[str], db: str, results: Callable[[], Any], fmt: str,
                 top: int, filters: Filters, progress=None) -> None:
    """The report in ``fmt`` of the database and ``results`` (read when called) written to
    ``output``, its warnings to standard error; its time on ``progress`` counts the loading
    (at a million rules, seconds). The cyclic collector is paused from loading to the last
    piece written: the report's millions of containers at a million rules set off
    collections that rescanned them all (2.6 s of a 10.4 s text report); none is a cycle, so
    nothing is held longer."""
    from .report.render import render_report
    started = time.monotonic()
    if progress is not None:        # at a million rules, seconds: not a silence after "reduce"
        progress.write("report: making it …\n")     # (a line of its own: the report may
        progress.flush()                            # go to the same terminal)
    with collector_paused():
        pieces, warnings = render_report(load_firewalls(db), results(), fmt, top, filters,
                                         progress, load_captures(db), started)
        echo_warnings(warnings)
        write_pieces(output, pieces)


def note(text: str) -> None:
    """A line on standard error of what changed how the command went (not its result)."""
    click.echo(one_line(f"note: {text}"), err=True)


def echo_warnings(warnings) -> None:
    for warning in warnings:
        click.echo(one_line(warning), err=True)


# -- commands ------------------------------------------------------------------------------
@main.command()
@click.argument("configs", nargs=-1, type=click.Path())
@db_option
@click.option("--git", "git", multiple=True, metavar="PATH",
              help="A config file, or a directory of them, in a git work tree (RANCID, "
                   "Oxidized): every committed revision, in force from its commit's time. "
                   "Repeatable.")
@click.option("--name", default=None,
              help="Name the firewall (one config only), e.g. fw01/ctx1 for a security context; "
                   "default: its hostname.")
@click.option("--interface-address", "interface_addresses", multiple=True,
              metavar="IF=ADDRESS",
              help="The address of an interface that DHCP or PPPoE assigns (one config only; "
                   "repeat for several): ACEs naming `interface IF` match it.")
@click.option("--routes", "routes", default=None, type=click.Path(exists=True),
              help="`show route` output (a file, one config only), or a directory holding "
                   "FIREWALL.routes per firewall: routes learned by OSPF/BGP place ICMP "
                   "connections, which name no interface.")
def preprocess(configs, db, git, name, interface_addresses, routes):
    """Parse ASA/FWSM CONFIGS, expand every ACE into rules and store them in the database.

    Firewalls already in the database are replaced, others are kept. Log lines are attributed
    by the names a firewall logs under: its name, its hostname, a context's name and its
    `logging device-id`.

    A config's revisions over time: FILE@YYYY-MM-DDTHH:MM (the time it took effect), a
    directory of dated files (2014-03-01T1200.cfg), or --git. Each log line is then matched
    against the revision in force when it was written.
    """
    if not configs and not git:
        raise click.UsageError("give CONFIGS or --git")
    sources = len(configs) + len(git)
    if name is not None and sources != 1:
        raise click.UsageError("--name goes with exactly one config")
    if interface_addresses and sources != 1:
        raise click.UsageError("--interface-address goes with exactly one config")
    addresses = {}
    for item in interface_addresses:
        nameif, equals, address = item.partition("=")
        if not equals or not nameif or not address:
            raise click.UsageError(f"--interface-address takes IF=ADDRESS, not {item!r}")
        addresses[nameif] = address
    if routes is not None and not os.path.isdir(routes) and sources != 1:
        raise click.UsageError("--routes FILE goes with exactly one config (or give a "
                               "directory of FIREWALL.routes files)")
    check_outputs([db], [split_spec(c)[0] for c in configs] + list(git) +
                  ([routes] if routes else []))
    firewalls, older = read_firewalls(list(configs), git, name, addresses, routes,
                                      progress_stream(), note=note)
    names = [fw.name for fw in firewalls]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise click.UsageError(f"several configs name the firewall {', '.join(repeated)}: "
                               "preprocess them one at a time with --name (or give its "
                               "revisions with the time each took effect: FILE@TIME)")
    save_firewalls(db, firewalls, older)
    from .counters import refresh_hashes
    refresh_hashes(db, names)         # captures stored before: matched to the new ruleset
    print_summary(firewalls, db)
    echo_warnings(f"warning: {conflict}" for conflict in identity_conflicts(load_identities(db)))


def print_summary(firewalls, db) -> None:
    from tabulate import tabulate
    rows = [summary(fw) for fw in firewalls]
    if any(fw.history for fw in firewalls):
        for row, fw in zip(rows, firewalls):
            row["revisions"] = 1 + len(fw.history.older) if fw.history else 1
            row["since"] = fw.history.since if fw.history else ""
    echo_warnings(f"warning: {warning}" for fw in firewalls for warning in fw.warnings)
    click.echo(printable(tabulate(rows, headers="keys", tablefmt="simple")), err=True)
    click.echo(f"{len(firewalls)} firewall(s) written to {db}", err=True)


@main.command()
@click.argument("captures", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False))
@db_option
@click.option("--firewall", default=None,
              help="The firewall they were taken on  [default: the one the capture's prompt "
                   "names, or the database's only firewall].")
@click.option("--taken-at", default=None,
              help="When they were taken, YYYY-MM-DD[THH:MM]  [default: the capture's `show "
                   "clock` output, or a date in its file name].")
def hitcounts(captures, db, firewall, taken_at):
    """Attach `show access-list` CAPTURES (the device's hit counters) to the database's ACEs.

    Each ACE line is matched by ACL name and ACE text, each element line to the expanded rule
    it stands for; lines that match nothing are listed. The report then shows the device's
    counts beside the logs' hits, and an ACE whose counter grew while its logs show no hit is
    never called unused. Several captures of one firewall over time give the growth between
    them.
    """
    from .asa.captures import taken_at as check_time
    attach_captures(list(captures), db, firewall,
                    check_time(taken_at) if taken_at is not None else None)


def attach_captures(captures: list, db: str, firewall: Optional[str],
                    when: Optional[str]) -> None:
    from .counters import store_captures
    echo_warnings(store_captures(captures, db, firewall, when))


@main.command()
@click.argument("logs", nargs=-1, required=True)
@db_option
@runner_option("local")
@workers_option
@job_options
@cluster_options
@click.option("-o", "--output", "results", type=click.Path(dir_okay=False), default=None,
              help="Write the results here  [default: standard output].")
def run(logs, db, runner, workers, job, job_name, reducers, priority, mrjob_conf, results):
    """Run the MapReduce job over LOGS and write its results.

    LOGS are files (plain, .gz or .bz2) or directories, which are searched recursively; local
    paths, or hdfs://, s3://, gs:// with a cluster runner. Each file is read once; a
    directory holding both X and X.gz is refused (the same lines twice).
    """
    check_outputs([results], list(logs) + [db])
    check_workers(workers, runner)
    lines = run_job(logs, db, runner, job, Cluster(job_name, reducers, priority, mrjob_conf),
                    progress_stream(), workers)
    write_output(results, "".join(line + "\n" for line in lines))


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
    click.echo(printable(render_ruleset(firewalls, firewall, acl)), nl=False)


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
    from .report.ruleset import flow_connection
    from .report.ruleset import lookup as explain
    firewalls = load_firewalls(db)
    fw = pick_firewall(firewalls, firewall, db)
    try:
        connection = flow_connection(fw, protocol, ingress, egress, flow)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(printable(explain(fw, connection)), nl=False)


def pick_firewall(firewalls: dict, name: Optional[str], db: str) -> Any:
    if name is None:
        if len(firewalls) != 1:
            raise click.UsageError(f"{db} has {len(firewalls)} firewalls: name one with "
                                   "--firewall")
        return next(iter(firewalls.values()))
    if name not in firewalls:
        raise DatabaseError(f"{db}: no firewall '{name}' (it has: {', '.join(firewalls)})")
    return firewalls[name]


@main.command("parse-log")
@click.argument("logs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--db", default=None, type=click.Path(dir_okay=False),
              help="With a database: also say which firewall, category and ACEs the job "
                   "credits each line to.")
@job_options(reducer=False)
def parse_log(logs, db, job):
    """Print how each line of LOGS is read, one JSON object per line.

    The tool for a rule that shows fewer hits than expected: every line's category, the
    connection it carries (oriented: source is the initiator), and with --db what it credits.
    """
    from .report.lines import explain
    firewalls = load_firewalls(db) if db else None
    if job.assume_firewall is not None and (firewalls is None or
                                            job.assume_firewall not in firewalls):
        raise click.UsageError("--assume-firewall needs --db with that firewall")
    for entry in explain(list(logs), firewalls, job):
        click.echo(json.dumps(entry))


@main.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=False))
@db_option
@format_options
@report_options
def report(results, db, fmt, output, top, min_hits, filters):
    """Report per ACE from the job's RESULTS (several files are merged) and the database."""
    check_outputs([output], list(results) + [db])
    filters.min_hits = min_hits
    write_report(output, db, lambda: read_results(results), fmt, top, filters,
                 progress_stream())


@main.command("history")
@db_option
@click.option("--firewall", default=None, help="Only this firewall.")
def history_command(db, firewall):
    """List each firewall's config revisions and what each changed in its ACLs: ACEs added,
    removed, moved to another line, and members gained or lost."""
    from .report.revisions import render
    firewalls = load_firewalls(db)
    if firewall is not None and firewall not in firewalls:
        raise click.UsageError(f"--firewall {firewall}: not in {db} (it has: "
                               f"{', '.join(firewalls) or 'none'})")
    click.echo(printable(render(firewalls, firewall)))


@main.command("diff")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the comparison to this file instead of standard output.")
def diff_command(old, new, output):
    """Compare two JSON reports (report --format json) of different periods: the ACEs whose
    use started or stopped, whose hits changed, and those only in one of them."""
    from .report import diff
    check_outputs([output], [old, new])
    write_output(output, diff.render(diff.read_report(old), diff.read_report(new)))


@main.command("prune")
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=False))
@db_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the commands to this file instead of standard output.")
@report_options
def prune_command(results, db, output, filters):
    """Write the ASA commands that would remove unused ACEs and object-group members.

    For review only: nothing is applied. Only ACEs and members the report judges unused are
    proposed, each with a comment saying why; firewalls without enough data are named at the
    top and skipped.
    """
    check_outputs([output], list(results) + [db])
    write_report(output, db, lambda: read_results(results), "prune", DEFAULT_MAX_CONNECTIONS,
                 filters)


@main.command()
@click.option("-c", "--config", "configs", multiple=True, required=True,
              type=click.Path(), help="A firewall config (repeat for several); its "
              "revisions: FILE@TIME or a directory of dated files, as preprocess takes them.")
@click.argument("logs", nargs=-1, required=True)
@click.option("--db", default=None, type=click.Path(dir_okay=False),
              help="Keep the ruleset database here  [default: a temporary file].")
@click.option("--results", "results_path", default=None, type=click.Path(dir_okay=False),
              help="Keep the job's results here (for 'report' later).")
@click.option("-s", "--hitcounts", "captures", multiple=True,
              type=click.Path(exists=True, dir_okay=False),
              help="A `show access-list` capture (repeat for several): the device's counters "
                   "beside the logs' hits (see the hitcounts command).")
@runner_option("local")
@workers_option(configs=True)
@job_options
@format_options
@report_options
def analyze(configs, logs, db, results_path, captures, runner, workers, job, fmt, output, top,
            min_hits, filters):
    """Preprocess CONFIGS, run the job over LOGS on this machine and report, in one go.

    LOGS are files or directories (searched recursively), each read once.
    """
    check_outputs([output, results_path, db], list(configs) + list(logs) + list(captures))
    check_outputs([output], [results_path, db])
    check_workers(workers, runner)
    filters.min_hits = min_hits
    workdir = tempfile.mkdtemp(prefix="ruleset-analysis-")
    try:
        db = db or os.path.join(workdir, "accesslists.db")
        started = time.monotonic()
        firewalls, older = read_firewalls(list(configs), progress=progress_stream(),
                                          note=note, most=workers)
        save_firewalls(db, firewalls, older)
        print_summary(firewalls, db)
        del firewalls, older        # the job and the report load them: not held meanwhile
        if captures:
            attach_captures(list(captures), db, None, None)
        progress = progress_stream()
        if progress is not None:
            progress.write(f"preprocess: {time.monotonic() - started:.1f} s\n")
        lines = run_job(logs, db, runner, job, progress=progress, workers=workers)
        if results_path:
            write_output(results_path, "".join(line + "\n" for line in lines))
        # read from memory, not from a temporary copy: temp disk is the database alone
        write_report(output, db, lambda: results_of_lines(lines), fmt, top, filters, progress)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
