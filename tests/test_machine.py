"""The local runner's default workers: one per CPU this process may use, a container's limits
(cgroups) included, as many as the memory it may take holds; and workers end with the process
that started them."""
import subprocess
import sys

import pytest
from conftest import workers_alive_after_kill

from ruleset_analysis import machine
from ruleset_analysis.machine import (
    WORKER_BYTES,
    available_memory,
    default_workers,
    reading_workers,
    usable_cpus,
)

GB = 2**30


class Root:
    """A file tree standing for / : /proc/meminfo, /proc/self/cgroup, /sys/fs/cgroup/..."""

    def __init__(self, path, cgroup="0::/\n", available=64 * GB):
        self.path = path
        self.write("proc/self/cgroup", cgroup)
        if available is not None:
            self.write("proc/meminfo", "MemTotal:       65000000 kB\n"
                                       f"MemAvailable:   {available // 1024} kB\n")

    def write(self, name, text):
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return self

    def v2(self, directory="", **files):
        """A cgroup v2 hierarchy at /sys/fs/cgroup, ``files`` in its ``directory``."""
        self.write("sys/fs/cgroup/cgroup.controllers", "cpu memory\n")
        for name, text in files.items():
            self.write(f"sys/fs/cgroup/{directory}/{name.replace('_', '.', 1)}", text)
        return self

    def __str__(self):
        return str(self.path)


@pytest.fixture
def cpus(monkeypatch):
    """The CPUs this process may run on, as its affinity says: 8."""
    monkeypatch.setattr(machine, "_affinity", lambda: 8)


def test_the_cpus_are_those_the_process_may_run_on_where_no_quota_is_set(tmp_path, cpus):
    assert usable_cpus(str(Root(tmp_path).v2(cpu_max="max 100000\n"))) == 8


def test_a_cgroup_v2_cpu_quota_bounds_the_cpus_rounded_up(tmp_path, cpus):
    assert usable_cpus(str(Root(tmp_path).v2(cpu_max="150000 100000\n"))) == 2


def test_a_cpu_quota_below_one_cpu_leaves_one(tmp_path, cpus):
    assert usable_cpus(str(Root(tmp_path).v2(cpu_max="20000 100000\n"))) == 1


def test_the_cpu_quota_of_a_cgroup_above_the_process_s_bounds_it_too(tmp_path, cpus):
    root = Root(tmp_path, cgroup="0::/job.slice/run.scope\n").v2(cpu_max="max 100000\n")
    root.v2("job.slice", cpu_max="300000 100000\n").v2("job.slice/run.scope",
                                                       cpu_max="max 100000\n")
    assert usable_cpus(str(root)) == 3


def test_a_cgroup_v1_cpu_quota_bounds_the_cpus_and_minus_one_is_none(tmp_path, cpus):
    root = Root(tmp_path, cgroup="3:cpu,cpuacct:/docker/abc\n")
    root.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "200000\n")
    root.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
    assert usable_cpus(str(root)) == 2
    root.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n")
    assert usable_cpus(str(root)) == 8


def test_a_container_whose_cgroup_path_is_the_host_s_has_its_limits_at_the_root(tmp_path,
                                                                              cpus):
    # /proc/self/cgroup names the host's path; the container's own cgroup is mounted at the
    # hierarchy's root, where that path does not exist
    root = Root(tmp_path, cgroup="4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n",
                available=None)
    root.write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "100000\n")
    root.write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n")
    root.write("sys/fs/cgroup/memory/memory.limit_in_bytes", str(2 * GB))
    root.write("sys/fs/cgroup/memory/memory.usage_in_bytes", str(GB // 2))
    assert usable_cpus(str(root)) == 1
    assert available_memory(str(root)) == 2 * GB - GB // 2


def test_the_memory_available_is_the_system_s_where_no_limit_is_set(tmp_path):
    root = Root(tmp_path, available=12 * GB).v2(memory_max="max\n", memory_current="5\n")
    assert available_memory(str(root)) == 12 * GB


def test_a_cgroup_v2_memory_limit_leaves_its_limit_less_usage_less_reclaimable_cache(tmp_path):
    # the logs read before fill the page cache charged to the cgroup: the kernel reclaims it
    root = Root(tmp_path).v2(memory_max=f"{4 * GB}\n", memory_current=f"{3 * GB}\n",
                             memory_stat=f"anon 1\ninactive_file {2 * GB}\nactive_file 5\n")
    assert available_memory(str(root)) == 3 * GB


def test_the_tightest_memory_limit_of_the_cgroups_above_the_process_counts(tmp_path):
    root = Root(tmp_path, cgroup="0::/a/b\n").v2("a", memory_max=f"{2 * GB}\n",
                                                   memory_current=f"{GB}\n")
    root.v2("a/b", memory_max=f"{8 * GB}\n", memory_current=f"{GB // 2}\n")
    assert available_memory(str(root)) == GB


def test_cgroup_v1_writes_no_memory_limit_as_a_huge_number(tmp_path):
    root = Root(tmp_path, cgroup="4:memory:/\n", available=6 * GB)
    root.write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
    root.write("sys/fs/cgroup/memory/memory.usage_in_bytes", str(GB))
    assert available_memory(str(root)) == 6 * GB


def test_no_memory_known_leaves_a_worker_per_cpu(tmp_path, cpus):
    assert default_workers(str(Root(tmp_path, available=None))) == (8, None)


def test_a_worker_per_cpu_where_the_memory_holds_them_and_the_job_s_process(tmp_path, cpus):
    room = 9 * WORKER_BYTES
    assert default_workers(str(Root(tmp_path, available=room))) == (8, None)


def test_fewer_workers_than_cpus_where_the_memory_holds_fewer_saying_why(tmp_path, cpus):
    workers, why = default_workers(str(Root(tmp_path, available=GB)))
    assert workers == GB // WORKER_BYTES - 1 == 2
    assert why == ("2 workers, not 8 (one per CPU): 1.0 GB of memory is available, 320 MB "
                   "for each beside the job's own process; -j/--workers N to choose")


def test_one_worker_however_little_memory_is_available(tmp_path, cpus):
    assert default_workers(str(Root(tmp_path, available=100 << 20)))[0] == 1


def test_a_cgroup_over_its_limit_leaves_no_memory_not_a_negative_amount(tmp_path):
    root = Root(tmp_path).v2(memory_max=f"{GB}\n", memory_current=f"{2 * GB}\n")
    assert available_memory(str(root)) == 0


def test_configs_are_read_by_a_process_per_cpu_where_memory_holds_them(tmp_path, cpus):
    room = 9 * 2 * WORKER_BYTES          # each: a config read, and its result held here
    assert reading_workers(48, str(Root(tmp_path, available=room))) == 8
    assert reading_workers(48, str(Root(tmp_path, available=room - 1))) == 7


def test_configs_are_read_by_no_more_processes_than_there_are_configs(tmp_path, cpus):
    assert reading_workers(3, str(Root(tmp_path))) == 3


def test_one_config_or_one_cpu_is_read_in_the_process_itself(tmp_path, cpus, monkeypatch):
    assert reading_workers(1, str(Root(tmp_path))) == 0
    monkeypatch.setattr(machine, "_affinity", lambda: 1)
    assert reading_workers(48, str(Root(tmp_path))) == 0


def test_configs_are_read_in_the_process_itself_where_memory_holds_no_worker(tmp_path, cpus):
    assert reading_workers(48, str(Root(tmp_path, available=GB))) == 0


STARTS_A_WORKER = """
import os, sys, time
from ruleset_analysis.machine import end_with_parent
parent = os.getpid()
if os.fork() == 0:
    end_with_parent(parent)
    open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()
    time.sleep(600)
    os._exit(0)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_worker_is_killed_when_the_process_that_started_it_is_killed(tmp_path):
    assert workers_alive_after_kill(STARTS_A_WORKER, [], tmp_path, workers=1) == []


def asked_with_parent_gone(platform: str) -> tuple:
    """(exit status, output) of a process on ``platform`` that asks to end with a parent
    that is not its own any more (its own ended before it asked)."""
    ran = subprocess.run([sys.executable, "-c", f"import sys; sys.platform = {platform!r}\n"
                          "from ruleset_analysis.machine import end_with_parent\n"
                          "end_with_parent(-1); print('went on')"],
                         capture_output=True, text=True)
    return ran.returncode, ran.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_worker_whose_parent_ended_before_it_asked_ends_at_once():
    # no signal will come: its parent is another process now
    assert asked_with_parent_gone("linux") == (1, "")


def test_elsewhere_than_linux_a_worker_goes_on_as_before():
    assert asked_with_parent_gone("darwin") == (0, "went on\n")
