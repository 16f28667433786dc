"""`-r local` (and `analyze`): the job on this machine's cores, streaming its inputs.

mrjob's local runner copies every input, decompressed, into its temp directory before the
first map task (72 MB of .gz took 682 MB) and leaves the copy behind on Ctrl-C. This runner
reads the inputs where they are instead: N worker processes take tasks — a compressed file
whole, decompressed as it is read; a large plain file in byte ranges split at line
boundaries; where that makes fewer tasks than workers, a file in more parts (an archive in
shares) — and run a mapper over them, one per worker, as over one long input: its records
leave, combined, at a flush and after the last task; this process merges them with the
reducer's merge. Every record is merged by the same functions as on a cluster (counts add,
first = min, last = max, split-invariant connection samples), so the results are byte for
byte those of every other runner. Nothing is written to disk.
"""
from __future__ import annotations

import heapq
import io
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, TextIO, Tuple

from .aggregate import quiet_collector
from .asa.syslog import MAX_LINE_BYTES, READ_BUFFER, READ_CHUNK, log_chunks
from .database import load_firewalls
from .machine import default_workers, worker_started
from .model import collector_paused
from .options import JobOptions
from .records import encode, reduce_values, string_records
from .runner import JobFailed, warn

# Plain files larger than this are read in equal ranges of at most this size, by several
# workers.
SPLIT_BYTES = 64 << 20
# A compressed file is read in shares (_Share) by several workers where there are fewer tasks
# than workers, a share for at least this many of its bytes; its lines are dealt to the
# shares by blocks of SHARE_BLOCK decompressed bytes.
SHARE_MIN_BYTES = 1 << 20
SHARE_BLOCK = 1 << 20
# What a file's bytes weigh, by what it holds, when tasks are ordered and parts given: the
# work of a byte against a plain file's — the text it packs and its decompressing. Measured
# (map_task's CPU time, the benchmark's 250,000 lines at 10,000 rules): plain 44.2 MB in
# 0.77 s, gzip 3.35 MB (13.2 times smaller) in 0.86 s, bzip2 2.40 MB (18.4) in 1.45 s, whose
# decompressing is dear; xz 2.48 MB (17.8) in 0.88-0.93 s against plain's 0.70-0.73 (22
# times a plain byte's work), zstd (level 3) 3.59 MB (12.3) in 0.83-0.87 s against 0.75-0.77
# (14; 2026-12-05); gzip through zlib-ng (lines.GzipMembers) in 0.73 s against 0.72 (13;
# 2026-12-06). So an archive of a fifth of a range's bytes is about three times its work.
WORK_PER_BYTE = {"plain": 1, "gzip": 13, "bzip2": 35, "xz": 22, "zstd": 14}
# Values of one key kept before they are merged (the merge is exact at any grouping).
MERGE_EVERY = 16
# Tasks go to the workers in batches of at least this much work (in plain bytes'): a task's
# messages cost ~0.5 ms (through multiprocessing's pool), which 1,000 archives of 1,000
# lines sent one by one paid in 2.76 s against 2.22-2.30 in batches of 16.
BATCH_WORK = 4 << 20


class Task(NamedTuple):
    """A map task: a file; of a plain file, the lines that begin in [start, end) (end None:
    to its end); of a compressed one, the lines of its share ``share`` of ``shares``."""
    path: str
    start: int = 0
    end: Optional[int] = None
    share: int = 0
    shares: int = 1

_FIREWALLS: dict = {}                         # the workers' ruleset (inherited on fork)
_OPTIONS: Optional[JobOptions] = None
# The worker's mapper, over all its tasks: what it learnt (indexes, verdicts, flow shapes,
# sample thresholds) serves the next task, and its records leave at a flush (its bound) or
# when the job asks for them after the last task (end_worker), as one long task's would.
# A mapper per task sent every record at each task's end: over 1,000 archives of 1,000
# lines a worker ran at 7.2 µs a line against 2.5 over one archive of them all.
_ANALYZER: Any = None
_TASKS_DONE = 0                    # the tasks _ANALYZER counted: end_worker tells the job
_READ: Any = None                  # shared: input bytes read, lines read, their work
# Each task's bytes and a byte's work, as run_local planned them from the files it found:
# what the progress counts (a file gone or unreadable since is a problem its task reports,
# not a count its worker cannot make), and what a plain file held then.
_PLAN: Dict[Task, Tuple[int, int]] = {}
# How often (in lines, at the end of a chunk) a worker adds what it read to the shared
# counters (they take a lock), and how often the progress line is redrawn.
PROGRESS_EVERY = 1 << 16
PROGRESS_SECONDS = 0.5


def gather(store: Dict[str, list], key: str, value: Any, bound: int) -> None:
    """Keep a record's value under its key, merging a key's values as they pile up (the merge
    is exact at any grouping): memory grows with the keys, not the records."""
    kept = store.setdefault(key, [])
    kept.append(value)
    if len(kept) >= MERGE_EVERY:
        kept[:] = [reduce_values(key, kept, bound)]


def byte_range(handle, start: int, end: int) -> Any:
    """A binary reader of the lines of a plain file that begin in [start, end), as Hadoop
    splits a file: a line that crosses ``end`` is read whole by the range it begins in."""
    return io.BufferedReader(_ByteRange(handle, start, end), READ_BUFFER)


def _line_start(handle, position: int) -> int:
    """Where the first line that begins at or after ``position`` begins (the end of the file
    if none does)."""
    if position == 0:
        return 0
    handle.seek(position - 1)
    while True:
        piece = handle.readline(MAX_LINE_BYTES)
        if not piece or piece.endswith(b"\n"):
            return handle.tell()


class _ByteRange(io.RawIOBase):
    """The bytes from the first line beginning at or after ``start`` to the first beginning
    at or after ``end``: read through a BufferedReader, its lines cost what a whole file's
    do (a readline in Python, checking the position per line, cost 1.7 µs more a line)."""

    def __init__(self, handle, start: int, end: int):
        super().__init__()
        self.handle = handle
        self.end = _line_start(handle, end)
        self.position = _line_start(handle, start)
        handle.seek(self.position)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = min(len(buffer), self.end - self.position)
        if size <= 0:
            return 0
        read = self.handle.readinto(memoryview(buffer)[:size])
        self.position += read
        return read


def tasks_of(paths: Sequence[str], split_bytes: int = SPLIT_BYTES, workers: int = 1,
             share_bytes: Optional[int] = None, kinds: Optional[Dict[str, str]] = None
             ) -> List[Task]:
    """The map tasks: compressed files whole, plain files in ranges of at most
    ``split_bytes`` (and, for several workers, of a quarter of a worker's share of the work),
    the most work first (so that a big file does not start last and run alone; a byte's work
    by WORK_PER_BYTE). A file is read in more parts (a compressed one in shares, a plain one
    in equal ranges), a part more at a time to the file with the most work a part, each part
    at least ``share_bytes`` (SHARE_MIN_BYTES) of it, while the tasks are fewer than
    ``workers`` (one large file is read by every core, not one), while a part has more than
    the workers' equal share of all the work (a large archive among small files does not run
    alone at the end), and while an archive's share more evens out the workers (3 archives
    to 2 workers), unless it is bzip2 (each share decompresses it all, nearly the mapper's
    cost: only for workers with nothing else); an archive in at most ``workers`` shares."""
    from .report.lines import compression
    share_bytes = share_bytes or SHARE_MIN_BYTES
    sizes = {path: os.path.getsize(path) for path in paths}
    kinds = kinds or {path: compression(path)[0] for path in paths}
    packed = {path for path in sizes if kinds[path] != "plain"}
    work = {path: size * WORK_PER_BYTE[kinds[path]] for path, size in sizes.items()}
    equal = sum(work.values()) / max(workers, 1)
    # a range of at most a quarter of a worker's share: the last ranges end together (one
    # file in 3 ranges kept a worker of 2 busy twice as long as the other; a range more costs
    # a seek, the worker's mapper going on)
    largest = split_bytes if workers < 2 else max(min(split_bytes, int(equal // 4)),
                                                  share_bytes)
    parts = {path: 1 if path in packed else max(1, -(-size // largest))
             for path, size in sizes.items()}
    while True:
        spare = sum(parts.values()) < workers
        wider = [path for path, size in sizes.items()
                 if size // (parts[path] + 1) >= share_bytes
                 and (spare or kinds[path] != "bzip2")
                 and (path not in packed or parts[path] < workers)]
        if not wider:
            break
        widest = max(wider, key=lambda path: work[path] / parts[path])
        # else an archive's share more (it costs its decompressing again, a twentieth of
        # its work) where the parts, dealt as the job deals them, keep a worker 10% longer
        # than its equal share (3 archives to 2 workers: 2 and 1); a plain file's ranges
        # are small already
        if not spare and work[widest] / parts[widest] <= equal and (
                widest not in packed or _dealt([work[path] / parts[path] for path in sizes
                                                for _ in range(parts[path])],
                                               workers) <= equal * 1.1):
            break
        parts[widest] += 1
    found: List[Tuple[int, Task]] = []
    for path, size in sizes.items():
        count = parts[path]
        if count == 1:
            found.append((work[path], Task(path)))
        elif path in packed:
            found += [(work[path] // count, Task(path, share=n, shares=count))
                      for n in range(count)]
        else:
            step = -(-size // count)
            found += [(min(step, size - start), Task(path, start, min(start + step, size)))
                      for start in range(0, size, step)]
    found.sort(key=lambda item: -item[0])
    return [task for _, task in found]


def _dealt(works: List[float], workers: int) -> float:
    """The most work a worker gets where the parts of ``works`` go, the most first, each to
    the worker with the least so far: as the job deals the tasks in their order."""
    loads = [0.0] * max(workers, 1)
    for work in sorted(works, reverse=True):
        heapq.heapreplace(loads, loads[0] + work)
    return max(loads)


class _Share:
    """The lines of a decompressed stream (``read1``) that begin in blocks ``share``,
    ``share + shares``, ... of ``block`` bytes, as log_chunks reads a file (``read1``): one
    of ``shares`` workers' part of a compressed file. Each decompresses the whole file (zlib
    in a twentieth of the mapper's time; bzip2 in nearly the mapper's) and reads only its
    own lines, as byte ranges are read: a line is the block's where its first byte is.
    ``lines``: the newlines of all it decompressed (where the archive breaks, that of the
    line it breaks in is lines + 1)."""

    def __init__(self, handle, share: int, shares: int, block: int):
        self.handle, self.share, self.shares, self.block = handle, share, shares, block
        self.position = 0           # the bytes decompressed
        self.lines = 0
        self.owner = 0              # the block of the line being read
        self.boundary = block       # the next block's first byte, not yet reached
        self.seeking: Optional[int] = None  # past a boundary in a line: its end from here
        self.last = b"\n"           # the byte before the next piece

    def read1(self, size: int = -1) -> bytes:
        """The next of this share's bytes (b"": the end): read until a piece has some. A
        piece is given before the next is decompressed, so where the archive breaks, the
        lines before the break have been given."""
        while True:
            data = self.handle.read1(READ_CHUNK)
            if not data:
                return b""
            self.lines += data.count(b"\n")
            mine = self._mine(data)
            if mine:
                return mine

    def _mine(self, data: bytes) -> bytes:
        start = self.position
        parts = []
        begin = 0                   # where the piece's span of the current owner begins
        mine = self.owner % self.shares == self.share
        while True:
            if self.seeking is not None:
                end = data.find(b"\n", self.seeking)
                if end < 0:
                    self.seeking = 0            # the line goes on in the next piece
                    break
                cut = end + 1
                self.seeking = None
            else:
                cut = self.boundary - start
                if cut >= len(data):
                    break
                if (data[cut - 1:cut] if cut else self.last) != b"\n":
                    self.seeking = cut          # a line crosses the boundary: its block's
                    continue
            # a line begins at data[cut]: its block's from here
            self.owner = (start + cut) // self.block
            self.boundary = (self.owner + 1) * self.block
            now = self.owner % self.shares == self.share
            if now != mine:
                if mine:
                    parts.append(data[begin:cut])
                begin, mine = cut, now
        if mine:
            parts.append(data[begin:])
        self.position = start + len(data)
        self.last = data[-1:]
        return b"".join(parts)


class _Cut(OSError):
    """A plain log found shorter, once read, than the job planned to read of it."""


def _open_chunks(task: Task, where: list, planned: int = 0) -> Iterator[List[str]]:
    """The task's lines, a list at a time (log_chunks); ``where[0]`` is set to a function
    giving the input bytes (as stored: compressed ones for an archive) read so far, its
    share of them for a share, and ``where[1]`` to one giving the lines of the whole file
    read so far, for a share. ``planned``: a whole plain file's size when the job planned
    its tasks (0: not known)."""
    from .report.lines import compression, decompressed
    path, start, end, share, shares = task
    content = compression(path, inside=False)[0]       # (planned: one the job reads)
    if content != "plain":
        with open(path, "rb") as raw, decompressed(content, raw) as handle:
            if shares == 1:
                where[0] = raw.tell
                yield from log_chunks(handle)
                return
            size, part = os.path.getsize(path), _task_bytes(task)
            where[0] = lambda: raw.tell() * part // max(size, 1)
            reader = _Share(handle, share, shares, SHARE_BLOCK)
            where[1] = lambda: reader.lines
            yield from log_chunks(reader)
    else:
        with open(path, "rb") as handle:
            where[0] = lambda: handle.tell() - start
            yield from log_chunks(handle if end is None else byte_range(handle, start, end))
            # cut in place (logrotate's copytruncate), or replaced by a new file before it
            # was opened (its create): lines it held are lost to this run, which says so
            # (the same line from every range past the cut)
            size = os.fstat(handle.fileno()).st_size
            if size < (planned if end is None else end):
                raise _Cut(f"{path}: {size:,} bytes when read, fewer than when the job began: "
                           "rotated or cut while the job ran (logrotate?); lines it held then "
                           "were not read")


def map_task(task: Task) -> Tuple[Task, List[Tuple[str, object]], Optional[str]]:
    """Run the mapper (and the combiner) over one task: (task, records, the error that
    stopped its reading, if one did — the lines before it are counted)."""
    global _ANALYZER, _TASKS_DONE
    from .report.lines import BROKEN
    assert _OPTIONS is not None
    path = task[0]
    size, weight = _PLAN.get(task, (0, 1))
    if _ANALYZER is None:
        _ANALYZER = _OPTIONS.analyzer(_FIREWALLS)
    analyzer = _ANALYZER
    analyzer.read_from(path)
    values: Dict[str, list] = {}
    error = None
    number = reported_lines = reported_bytes = 0
    add_lines = analyzer.add_lines
    where: list = [lambda: 0, None]

    def report() -> None:
        nonlocal reported_lines, reported_bytes
        if _READ is not None:
            position = where[0]()
            with _READ.get_lock():
                _READ[0] += position - reported_bytes
                _READ[1] += number - reported_lines
                _READ[2] += (position - reported_bytes) * weight
            reported_bytes, reported_lines = position, number
    try:
        for chunk in _open_chunks(task, where, size):
            add_lines(chunk)
            number += len(chunk)
            if analyzer.full:
                _keep(values, analyzer.emit())
            if number - reported_lines >= PROGRESS_EVERY:
                report()
    except _Cut as exc:
        error = str(exc)
    except BROKEN as exc:
        # (every share of an archive breaks at its break: the same line, said once)
        error = f"{path}:{(number if where[1] is None else where[1]()) + 1}: cannot read " \
                f"further: {exc}"
    _TASKS_DONE += 1
    if _READ is not None:       # the whole task counts as read, to its end
        with _READ.get_lock():
            _READ[0] += size - reported_bytes
            _READ[1] += number - reported_lines
            _READ[2] += (size - reported_bytes) * weight
    return task, _combined(values), error


def map_tasks(tasks: List[Task]) -> List[Tuple[Task, List[Tuple[str, object]], Optional[str]]]:
    """map_task over a batch of tasks (batches_of), in turn."""
    return [map_task(task) for task in tasks]


def batches_of(tasks: List[Task], work: Dict[Task, int], workers: int) -> List[List[Task]]:
    """The tasks, in their order, in batches of at least BATCH_WORK of ``work`` (a task alone
    where it has that much), or of a quarter of a worker's share where the job has less: so
    that a few small files still go to every worker."""
    least = min(BATCH_WORK, sum(work.values()) // (4 * max(workers, 1)))
    batches: List[List[Task]] = []
    batch: List[Task] = []
    held = 0
    for task in tasks:
        batch.append(task)
        held += work[task]
        if held >= least:
            batches.append(batch)
            batch, held = [], 0
    if batch:
        batches.append(batch)
    return batches


def end_worker() -> Tuple[int, List[Tuple[str, object]]]:
    """The records a worker's mapper holds after its last task, combined, and how many tasks
    it counted (the job checks that no worker was lost with its records). Forgotten then:
    a later job in this process starts anew."""
    global _ANALYZER, _TASKS_DONE
    assert _OPTIONS is not None
    analyzer, done = _ANALYZER, _TASKS_DONE
    _ANALYZER, _TASKS_DONE = None, 0
    values: Dict[str, list] = {}
    if analyzer is not None:
        _keep(values, analyzer.finish())
    return done, _combined(values)


def _keep(values: Dict[str, list], records: Iterator[tuple]) -> None:
    """The mapper's records, gathered by key for the combiner (_combined)."""
    assert _OPTIONS is not None
    for key, value in string_records(records):
        gather(values, key, value, _OPTIONS.max_connections)


def _combined(values: Dict[str, list]) -> List[Tuple[str, object]]:
    assert _OPTIONS is not None
    return [(key, reduce_values(key, kept, _OPTIONS.max_connections))
            for key, kept in values.items()]


def _part(size: int, share: int, shares: int) -> int:
    """A share's part of a file's ``size`` bytes, for the progress shown: the parts add up
    to the size."""
    return size * (share + 1) // shares - size * share // shares


def _task_bytes(task: Task) -> int:
    """The input bytes a task reads, as the progress counts them."""
    if task.end is not None:
        return task.end - task.start
    return _part(os.path.getsize(task.path), task.share, task.shares)


def _start_worker(db: Optional[str], options: JobOptions, read: Any = None,
                  plan: Optional[Dict[Task, Tuple[int, int]]] = None) -> None:
    global _FIREWALLS, _OPTIONS, _READ, _PLAN, _ANALYZER, _TASKS_DONE
    if db is not None:              # not inherited (a start method other than fork)
        _FIREWALLS = load_firewalls(db)
    _OPTIONS, _READ, _PLAN = options, read, plan or {}
    _ANALYZER, _TASKS_DONE = None, 0
    quiet_collector()               # for the worker's life: its tasks only map and combine


class Progress:
    """One line on a terminal, rewritten: input bytes read of the total, the share of the
    work done (an archive's bytes weigh WORK_PER_BYTE: read by bytes alone, the archives,
    which start first, would make the time left look longer than it is), lines/s, elapsed
    time and what is left."""

    def __init__(self, stream: TextIO, total: int, work: int):
        self.stream, self.total, self.work = stream, max(total, 1), max(work, 1)
        self.started = time.monotonic()

    def show(self, done: int, lines: int, worked: int) -> None:
        elapsed = time.monotonic() - self.started
        share = min(worked / self.work, 1.0)
        left = elapsed * (1 - share) / share if share > 0 else None
        rate = lines / elapsed if elapsed > 0 else 0
        self.stream.write(f"\rmap: {done / 1e6:,.1f} of {self.total / 1e6:,.1f} MB read "
                          f"({share:.0%}), {lines:,} lines, {rate:,.0f} lines/s, "
                          f"{_clock(elapsed)} elapsed"
                          + (f", about {_clock(left)} left " if left is not None else " "))
        self.stream.flush()

    def end(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


class _WorkerTraceback(Exception):
    """Where in a worker the exception the job raises again was raised (its cause)."""


def _work(connection: Any, initargs: tuple, jobs_ends: List[Any], job: int) -> None:
    """A worker process: _start_worker(*initargs), then map_tasks over each batch the job
    sends, until it sends None: then end_worker. Each answer is (None, what the call
    returned), or (the exception it raised, its traceback). Ctrl-C, a hangup and SIGTERM
    are the job's to handle: it ends the workers; its process, ``job``, killed, they are
    killed (worker_started). ``jobs_ends``: the job's ends of the workers' pipes, closed here
    (a forked worker holds them: its pipe would not end when the job does)."""
    import traceback
    worker_started(job)
    for end in jobs_ends:
        end.close()
    try:
        _start_worker(*initargs)
        while True:
            batch = connection.recv()
            connection.send((None, end_worker() if batch is None else map_tasks(batch)))
            if batch is None:
                return
    except (EOFError, BrokenPipeError):     # the job has ended (killed): nothing to tell
        return
    except Exception as exc:
        where = traceback.format_exc()
        try:
            connection.send((exc, where))
        except Exception:           # an exception that does not pickle
            connection.send((RuntimeError(f"{type(exc).__name__}: {exc}"), where))


def _run_workers(context: Any, workers: int, initargs: tuple, batches: List[List[Task]],
                 take: Callable[[Any], None], take_end: Callable[[Any], None],
                 shown: Optional[Progress], read: Any) -> None:
    """map_tasks over the batches in ``workers`` processes (_work; their _start_worker
    arguments ``initargs``), a batch at a time to a worker that is free, each result to
    ``take``; then end_worker in each worker, to ``take_end``; the progress ``shown`` of the
    shared counts ``read`` now and then. Each worker has a pipe of its own, and its end is
    the end of its pipe: a worker that ends before its last answer (the out-of-memory
    killer) fails the job at once, naming how it ended. (A pool's workers share a queue and
    its lock: one killed while it waited for a task held the lock for ever, and the pool,
    which starts a worker in its place, waited at its end; the task a killed worker ran
    never returned.)"""
    from multiprocessing.connection import wait
    started: List[Tuple[Any, Any]] = []
    try:
        for _ in range(workers):
            ours, theirs = context.Pipe()
            process = context.Process(target=_work, daemon=True, args=(
                theirs, initargs, [pipe for _, pipe in started] + [ours], os.getpid()))
            process.start()
            theirs.close()          # else a worker's end would not end its pipe here
            started.append((process, ours))
        queue = list(reversed(batches))
        busy = {pipe: process for process, pipe in started}    # each has a call to answer
        ending = set()              # the pipes told to end (end_worker)

        def give(pipe: Any) -> None:
            batch = queue.pop() if queue else None
            if batch is None:
                ending.add(pipe)
            try:
                pipe.send(batch)
            except OSError:         # ended: its pipe's end says so
                pass
        for pipe in busy:
            give(pipe)
        while busy:
            lost = []
            ready: List[Any] = wait(list(busy), PROGRESS_SECONDS)
            for pipe in ready:
                try:
                    error, answer = pipe.recv()
                except EOFError:    # ended before it answered
                    lost.append(busy.pop(pipe))
                    continue
                if error is not None:
                    raise error from _WorkerTraceback(answer)
                if pipe in ending:
                    take_end(answer)
                    busy.pop(pipe).join()
                else:
                    for result in answer:
                        take(result)
                    give(pipe)
            if lost:
                for process in lost:
                    process.join(5)
                raise JobFailed(f"the map step lost what a worker held: {_how_ended(lost)} "
                                "while the job ran; run the job again (with more memory "
                                "free, or fewer --workers, if it ran out)")
            if shown is not None:   # read unlocked: a worker killed holding the lock keeps it
                shown.show(*read.get_obj())
    finally:
        for process, pipe in started:
            if process.is_alive():
                process.kill()
            process.join()
            pipe.close()


def _how_ended(children: List[Any]) -> str:
    """What became of the workers that ended, as their exit codes say."""
    said: Dict[str, int] = {}
    for child in children:
        code = child.exitcode
        if code is None:
            continue
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            how = f"killed by {name}" + (" (the out-of-memory killer's signal, or kill -9)"
                                         if name == "SIGKILL" else "")
        else:
            how = f"ended with exit code {code}"
        said[how] = said.get(how, 0) + 1
    return "; ".join(f"a worker process was {how}" if n == 1 else
                     f"{n} worker processes were {how}" for how, n in said.items()) \
        or "a worker process ended"


def _clock(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{second:02d}"


def run_local(paths: Sequence[str], db: str, options: JobOptions,
              workers: Optional[int] = None, split_bytes: int = SPLIT_BYTES,
              progress: Optional[TextIO] = None) -> Tuple[List[str], List[Tuple[str, str]]]:
    """-> (the results lines, sorted; [(path, message)] for each input whose reading broke
    before its end, that is not what its name says, or that holds what is not read: a
    compressor's output lines.readable refuses). ``progress``: a terminal to show the progress
    on."""
    global _FIREWALLS, _ANALYZER
    from .report.lines import compression, misnamed, readable, unread
    problems: List[Tuple[str, str]] = []
    kinds = {}                      # the inputs read, by what they hold
    for path in paths:
        content, named = compression(path)
        if not readable(content):
            problems.append((path, unread(path, content)))
            continue
        kinds[path] = content
        if content != named:
            problems.append((path, misnamed(path, named, content)))
    bounded = None                  # why the default is fewer workers than CPUs
    if not workers:
        workers, bounded = default_workers()
    tasks = tasks_of(list(kinds), split_bytes, workers, kinds=kinds)
    merged: Dict[str, list] = {}
    # each task's bytes and a byte's work: for the progress, and what a plain file held then
    plan = {task: (_task_bytes(task), WORK_PER_BYTE[kinds[task.path]]) for task in tasks}
    batches = batches_of(tasks, {task: size * weight for task, (size, weight) in plan.items()},
                         workers)
    if bounded is not None and len(batches) > workers:
        warn(f"note: {bounded}")
    workers = max(1, min(workers, len(batches)))

    def merge(records) -> None:
        for key, value in records:
            gather(merged, key, value, options.max_connections)

    def take(result) -> None:
        task, records, error = result
        if error is not None and (task.path, error) not in problems:
            problems.append((task.path, error))
        merge(records)

    counted = 0                     # the tasks the workers' last records say they counted

    def take_end(result) -> None:
        nonlocal counted
        done, records = result
        counted += done
        merge(records)

    # No process to start (a small run's fixed cost). With no task, a mapper over no line
    # still says which rulesets the results belong to, as mrjob's runners' does.
    if not tasks or (workers == 1 and progress is None):
        _FIREWALLS = load_firewalls(db)
        with collector_paused():    # this process goes on to the report: as it was after
            _start_worker(None, options, None, plan)
            for task in tasks:
                take(map_task(task))
            if not tasks:
                _ANALYZER = options.analyzer(_FIREWALLS)
            take_end(end_worker())
    else:
        methods = multiprocessing.get_all_start_methods()
        if "fork" in methods:       # the workers inherit the loaded ruleset
            if progress is not None:    # (at a million rules, seconds; the line overwritten)
                progress.write("map: loading the ruleset …")
                progress.flush()
            _FIREWALLS = load_firewalls(db)
            context: Any = multiprocessing.get_context("fork")
            loaded: Optional[str] = None
        else:
            context = multiprocessing.get_context()
            loaded = db
        read = shown = None
        if progress is not None:
            read = context.Array("q", 3)
            shown = Progress(progress, sum(plan[task][0] for task in tasks),
                             sum(plan[task][0] * plan[task][1] for task in tasks))
        try:
            _run_workers(context, workers, (loaded, options, read, plan), batches, take,
                         take_end, shown, read)
        finally:
            if shown is not None:
                shown.end()
    if counted != len(tasks):
        # a worker's mapper that did not count every task it read: its records lost
        raise JobFailed(f"the map step lost a worker's records: {counted:,} of "
                           f"{len(tasks):,} tasks accounted for; run the job again")
    # the report loads what it needs: not held twice
    _FIREWALLS, _ANALYZER = {}, None
    started = time.monotonic()
    lines = [encode(key, reduce_values(key, values, options.max_connections, finish=True))
             for key, values in merged.items()]
    lines = sorted(line.rstrip("\n") for line in lines)
    if progress is not None:    # a step of its own: at a million rules, seconds
        progress.write(f"reduce: {time.monotonic() - started:.1f} s\n")
    return lines, sorted(problems)
