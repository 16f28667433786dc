"""The job's options, defined once: the CLI (`run`, `analyze`, `parse-log`), the MRJob and the
mrjob-free filters (`scripts/mapper.py`, `scripts/reducer.py`) all take them from here, so a
name, a default or a help text cannot drift between them."""
from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, Dict, List, Optional, Tuple

from .records import CONNECTION_SAMPLE

PERMIT_SOURCES = ("built", "acl-log")
DEFAULT_MAX_CONNECTIONS = 100       # keeps the output of a map task near 1% of its input


@dataclass(frozen=True)
class Option:
    """One option as every front end declares it."""
    flag: str
    help: str
    default: Any = None
    choices: Optional[Tuple[str, ...]] = None
    kind: Callable[[str], Any] = str
    mapper: bool = True              # read by the mapper
    reducer: bool = False            # read by the combiner and the reducer

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


OPTIONS = (
    Option("--assume-firewall",
           "attribute to this firewall of the database every log line whose device id the "
           "database does not know (lines naming one of its firewalls keep theirs)"),
    Option("--year",
           "YYYY or YYYY-MM the logs start in, for lines written without a year; earlier "
           "months are the next year [default: the 12 months up to today]"),
    Option("--permits-from",
           "message that counts a permitted connection: connection-built lines, or ACL-log "
           "lines (106100, FTD connection events) for logs without them", "built",
           PERMIT_SOURCES),
    Option("--since", "first day analysed, YYYY-MM-DD; earlier lines are counted as "
                      "outside_period"),
    Option("--until", "last day analysed, YYYY-MM-DD, inclusive"),
    Option("--max-connections",
           "distinct connections listed per ACE: all of them up to this many, else a sample "
           "of this many (each count exact) and the rest per service; hit counts stay exact",
           DEFAULT_MAX_CONNECTIONS, kind=int, reducer=True),
)


def check_year(value: str) -> str:
    from .asa.syslog import year_rule
    year_rule(value)                 # raises ValueError with the message users see
    return value


def check_date(value: str) -> str:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not YYYY-MM-DD") from None
    return value


CHECKS = {"year": check_year, "since": check_date, "until": check_date}


@dataclass(frozen=True)
class JobOptions:
    """What the job is asked to do, besides which logs and which database."""
    assume_firewall: Optional[str] = None
    year: Optional[str] = None
    permits_from: str = "built"
    since: Optional[str] = None
    until: Optional[str] = None
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def __post_init__(self) -> None:
        for name, check in CHECKS.items():
            value = getattr(self, name)
            if value is not None:
                check(value)
        if self.permits_from not in PERMIT_SOURCES:
            raise ValueError(f"permits come from {' or '.join(PERMIT_SOURCES)}, "
                             f"not {self.permits_from!r}")
        if self.since and self.until and self.until < self.since:
            raise ValueError(f"--until {self.until} is before --since {self.since}")
        if not 1 <= self.max_connections <= CONNECTION_SAMPLE:
            raise ValueError(f"--max-connections must be 1 to {CONNECTION_SAMPLE} (beyond "
                             "that, an ACE's connections are a sample)")

    def args(self, mapper_only: bool = False) -> List[str]:
        """The options as command-line arguments (for mrjob and the streaming filters)."""
        found = []
        values = asdict(self)
        for option in OPTIONS:
            value = values[option.dest]
            if value is not None and (option.mapper or not mapper_only):
                found += [option.flag, str(value)]
        return found

    @classmethod
    def of(cls, values: Any) -> "JobOptions":
        """From anything with the options as attributes (argparse, mrjob) or a dict."""
        get = values.get if isinstance(values, dict) else (lambda n: getattr(values, n, None))
        found: Dict[str, Any] = {f.name: get(f.name) for f in fields(cls)
                                 if get(f.name) is not None}
        return cls(**found)

    def analyzer(self, firewalls: dict, path: Optional[str] = None) -> Any:
        """The mapper's state for these options (``aggregate.LineAnalyzer``)."""
        from .aggregate import LineAnalyzer
        return LineAnalyzer(firewalls, self.year, self.assume_firewall, path, self.permits_from,
                            since=self.since, until=self.until,
                            max_connections=self.max_connections)


DEFAULTS = JobOptions()


def add_to_parser(add: Callable[..., Any], mapper: bool = True, reducer: bool = True) -> None:
    """Declare the options through an ``add_argument``-like function (argparse, or mrjob's
    ``add_passthru_arg``)."""
    for option in OPTIONS:
        if (option.mapper and mapper) or (option.reducer and reducer):
            extra = {"choices": option.choices} if option.choices else {}
            add(option.flag, default=option.default, type=option.kind, help=option.help,
                **extra)
