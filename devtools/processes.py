"""Processes of our own for benchmarks and tests: `manage.py` commands and gunicorn servers, each in its own
process group with its own log, ended by its own id, and the CPU time they spent read from /proc."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def answers(url):
    try:
        return requests.get(url, timeout=5).status_code in (200, 503)
    except requests.RequestException:
        return False


def _stat(pid):
    """(parent pid, CPU seconds of the process and of its reaped children) from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return int(fields[1]), (utime + stime + cutime + cstime) / CLOCK_TICKS


def tree_cpu_seconds(root):
    """CPU seconds (user + system, all threads) of `root` and every live descendant, plus the children they
    reaped: a gunicorn master and its workers, or a qcluster and its worker processes."""
    parents, cpu = {}, {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                parents[int(entry.name)], cpu[int(entry.name)] = _stat(entry.name)
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    tree, grew = {root}, True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return sum(cpu.get(pid, 0.0) for pid in tree)


def _signal_group(pid, signum):
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def stop(popen, timeout=30):
    """End a command started in its own process group (`start_new_session=True`): SIGTERM to the command alone
    (gunicorn and qcluster stop their own children; signalling them too makes qcluster wait for them forever),
    SIGKILL to the group if it has not ended within `timeout`, then to any orphan of the group. Returns the
    exit code."""
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
    try:
        popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(popen.pid, signal.SIGKILL)
        popen.wait(timeout=30)
    _signal_group(popen.pid, signal.SIGKILL)
    return popen.returncode


class Process:
    """A command in its own process group, logging to a file under var/ (or `log_path`)."""

    def __init__(self, command, *, env=None, name="process", log_path=None, niceness=0):
        self.log_path = Path(log_path or settings.BASE_DIR / "var" / f"{name}-{os.getpid()}-{time.monotonic_ns()}.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=(lambda: os.nice(niceness)) if niceness else None)
        self.pid = self.process.pid

    def cpu_seconds(self):
        return tree_cpu_seconds(self.pid)

    def kill(self):
        """SIGKILL, as a crashed machine: no cleanup runs in any of its processes."""
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.log.close()

    def stop(self, timeout=30):
        """SIGTERM to the command, SIGKILL to what is left of its group (see `stop`). Returns the exit code."""
        returncode = stop(self.process, timeout)
        self.log.close()
        return returncode

    def _signal(self, signum):
        _signal_group(self.pid, signum)

    def output(self):
        return self.log_path.read_text(errors="replace")


def manage_command(*args):
    return [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args]


def run(env, *args):
    """`manage.py *args` to its end; its output, or CommandError with the end of its errors."""
    from django.core.management.base import CommandError

    done = subprocess.run(manage_command(*args), env=env, capture_output=True, text=True)
    if done.returncode:
        raise CommandError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def manage_process(*args, env=None, name=None, **kwargs):
    return Process(manage_command(*args), env=env, name=name or args[0], **kwargs)


def gunicorn(port, *, env=None, workers=2, threads=8, name="gunicorn", extra=(), timeout=60, **kwargs):
    """The portal's WSGI application under gunicorn on loopback, started once /healthz answers."""
    command = [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
               "--log-level", "warning", *extra]
    server = Process(command, env=env, name=name, **kwargs)
    try:
        wait_until(lambda: server.process.poll() is None and answers(f"http://127.0.0.1:{port}/healthz"), timeout,
                   f"gunicorn on port {port}")
    except TimeoutError:
        server.stop()
        raise TimeoutError(f"gunicorn on port {port} did not answer /healthz:\n{server.output()[-2000:]}") from None
    return server
