"""This package against bare ``BackgroundTasks`` and the fastapi-taskflow releases on PyPI.

Every subject lives in its own virtualenv under ``benchmarks/.venvs/`` (created on first use,
reused afterwards; they all share the import name ``fastapi_taskflow``):

* ``bare``: FastAPI only, tasks through Starlette's ``BackgroundTasks``;
* ``original-0.8.1``: ``fastapi-taskflow==0.8.1`` from PyPI;
* ``original-latest``: the newest release on PyPI (resolved with ``pip index versions`` when the
  virtualenv is created, then pinned in it);
* ``current``: this checkout, installed editable with every extra.

Each workload runs as a driver script (``benchmarks/compare_drivers/``) in the subject's
virtualenv and prints JSON; this script, which needs only the standard library, collects the
rounds, takes medians and prints a table with ratios against ``bare`` and ``original-0.8.1``:

* ``http``: uvicorn in a subprocess, ``wrk`` (or a small Python client) for a fixed time;
  requests/s, p50/p99 latency, and seconds from the end of the load until every task finished;
  async and sync tasks;
* ``inproc``: an endpoint that enqueues 100 tasks per request, driven through httpx's ASGI
  transport; tasks/s and microseconds per task (overhead against ``bare``);
* ``storage``: the same with SQLite, PostgreSQL, MariaDB/MySQL and Redis (scratch databases and
  key prefixes, removed afterwards; URLs from ``TASKFLOW_TEST_POSTGRES_URL``,
  ``TASKFLOW_TEST_MYSQL_URL`` and ``TASKFLOW_TEST_REDIS_URL``);
* ``memory``: bytes retained per completed task (tracemalloc);
* ``read``: with a large finished history in SQLite, ``GET /tasks``, ``GET /tasks/metrics`` and
  the dashboard page;
* ``crash``: SIGKILL under load, restart, count accepted tasks that never completed.

    python benchmarks/compare.py --quick
    python benchmarks/compare.py --rounds 5 --out benchmarks/results/full

A subject that fails to install, or a workload that fails, shows as an error in the table and
does not stop the others.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DRIVERS = HERE / "compare_drivers"
VENVS = HERE / ".venvs"
TOOLS = ["uvicorn", "httpx", "asgi-lifespan"]
WORKLOADS = ["http", "inproc", "storage", "memory", "read", "crash"]
BASELINES = ("bare", "original-0.8.1")
# Subprocesses still running; stopped on exit whatever happens.
RUNNING: set[subprocess.Popen[bytes]] = set()


class Failed(Exception):
    """A subject or workload that could not be measured; the message goes in the table."""


@dataclass
class Subject:
    name: str
    kind: str  # bare, original or current
    packages: list[str]
    version: str = ""
    error: str | None = None

    @property
    def python(self) -> Path:
        return VENVS / self.name / "bin" / "python"


@dataclass
class Results:
    """Samples per (workload, case, metric) and subject, and the errors met on the way."""

    samples: dict[tuple[str, str, str], dict[str, list[float]]] = field(default_factory=dict)
    errors: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def add(self, workload: str, case: str, subject: str, values: dict[str, float]) -> None:
        for metric, value in values.items():
            key = (workload, case, metric)
            self.samples.setdefault(key, {}).setdefault(subject, []).append(value)

    def fail(self, workload: str, case: str, subject: str, error: str) -> None:
        self.errors[(workload, case, subject)] = error
        print(f"  ! {workload} {case} {subject}: {error}", file=sys.stderr, flush=True)


# -- subjects --------------------------------------------------------------------------------


def run(command: list[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
        )
    except subprocess.TimeoutExpired as exc:
        raise Failed(f"timed out after {timeout:.0f} s: {' '.join(command[:4])}") from exc


def newest_release() -> str:
    """The newest fastapi-taskflow version on PyPI."""
    found = run([sys.executable, "-m", "pip", "index", "versions", "fastapi-taskflow"], 120)
    match = re.search(r"fastapi-taskflow \(([^)]+)\)", found.stdout)
    if match is None:
        raise Failed(f"pip index versions: {(found.stderr or found.stdout).strip()[-300:]}")
    return match.group(1)


def subjects(names: list[str]) -> list[Subject]:
    catalogue = {
        "bare": lambda: Subject("bare", "bare", ["fastapi"]),
        "original-0.8.1": lambda: Subject(
            "original-0.8.1", "original", ["fastapi-taskflow[redis,postgres,mysql]==0.8.1"]
        ),
        "original-latest": lambda: Subject(
            "original-latest", "original", ["fastapi-taskflow[redis,postgres,mysql]==LATEST"]
        ),
        "current": lambda: Subject("current", "current", ["-e", f"{ROOT}[all]"]),
    }
    unknown = set(names) - set(catalogue)
    if unknown:
        raise SystemExit(f"unknown subjects: {', '.join(sorted(unknown))}")
    return [catalogue[name]() for name in names]


def prepare(subject: Subject, rebuild: bool) -> None:
    """Create (or reuse) the subject's virtualenv and read the version it holds."""
    folder = VENVS / subject.name
    marker = folder / "bench-packages.json"
    wanted = subject.packages + TOOLS
    if subject.name == "original-latest":
        if not rebuild and marker.exists():
            # Keep the release the virtualenv was built with unless asked to rebuild.
            wanted = json.loads(marker.read_text())
        else:
            wanted = [p.replace("LATEST", newest_release()) for p in wanted]
    if rebuild or not marker.exists() or json.loads(marker.read_text()) != wanted:
        print(f"creating {folder.relative_to(ROOT)} ({' '.join(wanted)})", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        made = run([sys.executable, "-m", "venv", str(folder)], 300)
        if made.returncode != 0:
            raise Failed(f"venv: {made.stderr.strip()[-300:]}")
        pip = [str(subject.python), "-m", "pip", "install", "--quiet", *wanted]
        installed = run(pip, 1200, cwd=ROOT)
        if installed.returncode != 0:
            raise Failed(f"pip install: {installed.stderr.strip()[-300:]}")
        marker.write_text(json.dumps(wanted))
    package = "fastapi" if subject.kind == "bare" else "fastapi-taskflow"
    probe = f"import importlib.metadata as m; print(m.version({package!r}))"
    # Run from the drivers' folder: from the repository root, ``import fastapi_taskflow``
    # would find this checkout whatever the virtualenv holds.
    found = run([str(subject.python), "-c", probe], 60, cwd=DRIVERS)
    if found.returncode != 0:
        raise Failed(f"version probe: {found.stderr.strip()[-300:]}")
    subject.version = f"{package} {found.stdout.strip()}"


def driver(subject: Subject, script: str, args: list[str], timeout: float) -> dict[str, float]:
    """Run one driver in the subject's virtualenv and return the JSON it printed."""
    command = [str(subject.python), str(DRIVERS / script), *args]
    done = run(command, timeout, env=subject_env(subject), cwd=DRIVERS)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise Failed(lines[-1] if lines else f"exit status {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def subject_env(subject: Subject, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TASKFLOW_", "VIRTUAL_ENV", "PYTHON"))
    }
    return {**env, "BENCH_SUBJECT_KIND": subject.kind, **extra}


# -- scratch stores --------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def scratch_store(kind: str, url: str | None, folder: Path) -> Iterator[str]:
    """A storage string (see ``subject_app``) for an empty store of ``kind``."""
    name = f"taskflow_bench_{uuid.uuid4().hex[:10]}"
    if kind == "sqlite":
        yield f"sqlite:{folder / (name + '.db')}"
        return
    if url is None:
        raise Failed("no URL (set TASKFLOW_TEST_*_URL)")
    if kind == "redis":
        prefix = name.replace("_", "-")
        try:
            yield f"{url}{'&' if '?' in url else '?'}prefix={prefix}"
        finally:
            keys = run(["redis-cli", "-u", url, "--scan", "--pattern", f"*{prefix}*"], 120)
            names = keys.stdout.split()
            for start in range(0, len(names), 500):
                run(["redis-cli", "-u", url, "DEL", *names[start : start + 500]], 120)
        return
    if kind == "postgresql":
        create = ["psql", url, "-q", "-c", f"CREATE DATABASE {name}"]
        drop = ["psql", url, "-q", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"]
        env = None
    else:
        parts = urlsplit(url)
        client = ["mysql", "-h", parts.hostname or "127.0.0.1", "-P", str(parts.port or 3306)]
        client += ["-u", parts.username or "root"]
        env = {**os.environ, "MYSQL_PWD": parts.password or ""}
        create = [*client, "-e", f"CREATE DATABASE {name}"]
        drop = [*client, "-e", f"DROP DATABASE IF EXISTS {name}"]
    made = run(create, 60, env=env)
    if made.returncode != 0:
        raise Failed(f"create database: {made.stderr.strip()[-200:]}")
    try:
        yield with_database(url, name)
    finally:
        run(drop, 60, env=env)


# -- servers and load ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get_json(url: str, timeout: float = 10.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass
class Server:
    """The benchmark application under uvicorn, in the subject's virtualenv."""

    subject: Subject
    settings: dict[str, str]
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.port = free_port()
        command = [str(self.subject.python), "-m", "uvicorn", "serve:app", "--app-dir"]
        command += [str(DRIVERS), "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--log-level", "warning", "--no-access-log"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=subject_env(self.subject, **self.settings),
                stdout=log,
                stderr=log,
                cwd=DRIVERS,  # ``python -m`` puts the working folder first on sys.path
                start_new_session=True,
            )
        RUNNING.add(self.process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Failed(f"server exited: {self.tail()}")
            with contextlib.suppress(OSError):
                self.stats()
                return
            time.sleep(0.05)
        raise Failed(f"server not ready after {timeout:.0f} s: {self.tail()}")

    def stats(self) -> dict[str, Any]:
        return get_json(f"{self.base}/bench/stats")

    def tail(self) -> str:
        lines = [line for line in self.log.read_text(errors="replace").splitlines() if line]
        return lines[-1][-300:] if lines else "(no output)"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if self.process is not None:
            RUNNING.discard(self.process)

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        self.kill()


def seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk_load(url: str, connections: int, duration: float) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration:.0f}s", "--latency"]
    done = run([*command, "--timeout", "10s", url], duration + 60)
    if done.returncode != 0:
        raise Failed(f"wrk: {done.stderr.strip()[-200:]}")
    out = done.stdout
    percentile = {
        level: seconds(value) for level, value in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise Failed(f"wrk: {errors.group(1)} error responses")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None or set(percentile) != {"50", "99"}:
        raise Failed(f"wrk output not understood: {out[-200:]}")
    return {
        "req_s": float(rate.group(1)),
        "p50_ms": percentile["50"] * 1000,
        "p99_ms": percentile["99"] * 1000,
    }


def python_load(url: str, connections: int, duration: float) -> dict[str, float]:
    """A bounded keep-alive HTTP/1.1 client: ``connections`` threads for ``duration`` s."""
    parts = urlsplit(url)
    request = f"GET {parts.path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    stop_at = time.monotonic() + duration

    def worker() -> list[float]:
        latencies = []
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
            reader = conn.makefile("rb")
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                conn.sendall(request)
                length = 0
                status = reader.readline()
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                reader.read(length)
                if b" 200 " not in status:
                    raise Failed(f"response {status!r}")
                latencies.append(time.perf_counter() - started)
        return latencies

    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        futures = [pool.submit(worker) for _ in range(connections)]
        latencies = sorted(x for future in futures for x in future.result(duration + 30))
    if not latencies:
        raise Failed("no request completed")
    return {
        "req_s": len(latencies) / duration,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``check`` until true; seconds it took. Raises ``Failed`` after ``timeout``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise Failed(f"{what} not reached within {timeout:.0f} s")
        time.sleep(0.01)
    return time.monotonic() - started


# -- workloads -------------------------------------------------------------------------------


def http_workload(subject: Subject, options: argparse.Namespace, folder: Path) -> None:
    load = wrk_load if options.load == "wrk" else python_load
    for task_kind in ("async", "sync"):
        settings = {"BENCH_TASK_KIND": task_kind, "BENCH_PER_REQUEST": "1"}
        server = Server(subject, settings, folder / f"http-{subject.name}.log")
        try:
            server.start()
            url = f"{server.base}/enqueue"
            load(url, options.connections, 1)  # warm up
            measured = load(url, options.connections, options.duration)
            stats: dict[str, Any] = {}

            def drained(stats: dict[str, Any] = stats, server: Server = server) -> bool:
                stats.update(server.stats())
                return bool(stats["done"] >= stats["enqueued"])

            measured["drain_s"] = wait_until(drained, options.timeout, "every task finished")
            RESULTS.add("http", f"{task_kind} tasks", subject.name, measured)
        except Failed as exc:
            RESULTS.fail("http", f"{task_kind} tasks", subject.name, str(exc))
        finally:
            server.stop()


def inproc_workload(subject: Subject, options: argparse.Namespace, folder: Path) -> None:
    args = ["--per-request", str(options.per_request), "--requests", str(options.requests)]
    try:
        found = driver(subject, "inproc.py", args, options.timeout)
        RESULTS.add("inproc", f"{options.per_request}/request, memory", subject.name, found)
    except Failed as exc:
        RESULTS.fail("inproc", f"{options.per_request}/request, memory", subject.name, str(exc))


def storage_workload(subject: Subject, options: argparse.Namespace, folder: Path) -> None:
    if subject.kind == "bare":
        return
    urls = {
        "sqlite": None,
        "postgresql": os.environ.get("TASKFLOW_TEST_POSTGRES_URL"),
        "mysql": os.environ.get("TASKFLOW_TEST_MYSQL_URL"),
        "redis": os.environ.get("TASKFLOW_TEST_REDIS_URL"),
    }
    args = ["--per-request", str(options.per_request)]
    args += ["--requests", str(options.storage_requests)]
    for kind in options.stores.split(","):
        case = f"{options.per_request}/request, {kind}"
        try:
            with scratch_store(kind, urls[kind], folder) as storage:
                found = driver(
                    subject, "inproc.py", [*args, "--storage", storage], options.timeout
                )
            RESULTS.add("storage", case, subject.name, found)
        except Failed as exc:
            RESULTS.fail("storage", case, subject.name, str(exc))


def memory_workload(subject: Subject, options: argparse.Namespace, folder: Path) -> None:
    case = f"after {options.memory_tasks:,} tasks, {options.memory_storage}"
    storage = options.memory_storage
    if storage == "sqlite":
        storage = f"sqlite:{folder / f'memory-{subject.name}-{uuid.uuid4().hex[:6]}.db'}"
    try:
        args = ["--tasks", str(options.memory_tasks), "--storage", storage]
        found = driver(subject, "memory.py", args, options.timeout)
        RESULTS.add("memory", case, subject.name, found)
    except Failed as exc:
        RESULTS.fail("memory", case, subject.name, str(exc))


def read_workload(subject: Subject, options: argparse.Namespace, folder: Path) -> None:
    if subject.kind == "bare":
        return
    case = f"{options.history:,} in history, sqlite"
    db = folder / f"read-{subject.name}-{uuid.uuid4().hex[:6]}.db"
    args = ["--db", str(db), "--tasks", str(options.history), "--runs", str(options.read_runs)]
    try:
        RESULTS.add("read", case, subject.name, driver(subject, "read.py", args, options.timeout))
    except Failed as exc:
        RESULTS.fail("read", case, subject.name, str(exc))


def crash_workload(subject: Subject, options: argparse.Namespace, folder: Path) -> None:
    """Enqueue, SIGKILL once a quarter has finished, restart, count accepted tasks never done."""
    case = f"{options.crash_tasks:,} tasks x {options.crash_work_ms:g} ms, sqlite"
    tag = uuid.uuid4().hex[:6]
    done_log = folder / f"crash-{subject.name}-{tag}.done"
    done_log.touch()
    settings = {
        "BENCH_STORAGE": "memory" if subject.kind == "bare" else f"sqlite:{done_log}.db",
        "BENCH_PER_REQUEST": "100",
        "BENCH_WORK_MS": str(options.crash_work_ms),
        "BENCH_DONE_LOG": str(done_log),
        "BENCH_CRASH_SAFE": "1",
        "BENCH_MAX_CONCURRENT": "20",
        "BENCH_LEASE_TTL": str(options.crash_lease),
    }
    server = Server(subject, settings, folder / f"crash-{subject.name}-{tag}.log")

    def finished() -> int:
        return len(set(done_log.read_text().split()))

    try:
        server.start()

        def enqueue(start: int) -> int:
            try:
                get_json(f"{server.base}/enqueue?start={start}", timeout=30)
            except (OSError, urllib.error.URLError):
                return 0
            return 100

        starts = range(0, options.crash_tasks, 100)
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            accepted = sum(pool.map(enqueue, starts))
        wait_until(lambda: finished() >= accepted // 4, options.timeout, "a quarter finished")
        server.kill()
        at_kill = finished()
        server.start()
        # Recovery ends when every task is done, or nothing new finished for a while.
        last = (finished(), time.monotonic())
        restarted = time.monotonic()
        while last[0] < accepted and time.monotonic() - last[1] < options.crash_settle:
            time.sleep(0.1)
            now_done = finished()
            if now_done != last[0]:
                last = (now_done, time.monotonic())
            if time.monotonic() - restarted > options.timeout:
                break
        found = {"accepted": accepted, "done_at_kill": at_kill, "lost": accepted - last[0]}
        if last[0] > at_kill:
            # From the restart to the last task finishing: how long recovery took.
            found["recovery_s"] = last[1] - restarted
        RESULTS.add("crash", case, subject.name, found)
    except Failed as exc:
        RESULTS.fail("crash", case, subject.name, str(exc))
    finally:
        server.stop()


RUNNERS = {
    "http": http_workload,
    "inproc": inproc_workload,
    "storage": storage_workload,
    "memory": memory_workload,
    "read": read_workload,
    "crash": crash_workload,
}
RESULTS = Results()


# -- report ----------------------------------------------------------------------------------


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"


def derive_overhead() -> None:
    """Microseconds per task above bare ``BackgroundTasks`` (``inproc``)."""
    for (workload, case, metric), found in list(RESULTS.samples.items()):
        if workload == "inproc" and metric == "us_per_task" and "bare" in found:
            bare = statistics.median(found["bare"])
            RESULTS.samples[(workload, case, "overhead_us")] = {
                name: [sample - bare for sample in samples] for name, samples in found.items()
            }


def table(names: list[str]) -> list[list[str]]:
    header = ["workload", "case", "metric", *names, "current/bare", "current/0.8.1"]
    rows = [header]
    measured = {(workload, case) for workload, case, _ in RESULTS.samples}
    # A case no subject could measure still gets a row, so its errors show in the table.
    failed = {(w, c, "-") for w, c, _ in RESULTS.errors if (w, c) not in measured}
    keys = sorted([*RESULTS.samples, *failed], key=lambda key: (WORKLOADS.index(key[0]), key[1]))
    for workload, case, metric in keys:
        medians = {
            name: statistics.median(values)
            for name, values in RESULTS.samples.get((workload, case, metric), {}).items()
        }
        cells = []
        for name in names:
            error = RESULTS.errors.get((workload, case, name))
            cells.append("error" if error and name not in medians else number(medians.get(name)))
        ratios = []
        for baseline in BASELINES:
            mine, theirs = medians.get("current"), medians.get(baseline)
            ok = mine is not None and theirs
            ratios.append(f"{mine / theirs:.2f}x" if ok else "-")  # type: ignore[operator]
        rows.append([workload, case, metric, *cells, *ratios])
    return rows


def render(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs, {platform.machine()}, Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def report(
    chosen: list[Subject], options: argparse.Namespace, command: str, date: str | None = None
) -> None:
    names = [subject.name for subject in chosen]
    derive_overhead()
    rows = table(names)
    versions = ", ".join(f"{s.name}={s.version or 'n/a'}" for s in chosen)
    errors = [f"{w} / {c} / {s}: {e}" for (w, c, s), e in sorted(RESULTS.errors.items())]
    errors += [f"{s.name}: {s.error}" for s in chosen if s.error]
    notes = [
        f"median of {options.rounds} round(s); {machine()}; {versions}",
        "times are wall clock on a machine other jobs may share: expect noise of 10-30 %",
    ]
    print()
    print(render(rows, markdown=False))
    for line in notes:
        print(line)
    for line in errors:
        print(f"error: {line}")
    if options.out:
        out = Path(options.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "command": command,
            "date": date or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": machine(),
            "subjects": {s.name: s.version or s.error for s in chosen},
            "rounds": options.rounds,
            "results": [dict(zip(rows[0], row, strict=True)) for row in rows[1:]],
            "samples": [
                {"workload": w, "case": c, "metric": m, "samples": samples}
                for (w, c, m), samples in RESULTS.samples.items()
            ],
            "errors": errors,
            "error_keys": [
                {"workload": w, "case": c, "subject": s, "error": e}
                for (w, c, s), e in RESULTS.errors.items()
            ],
        }
        out.with_suffix(".json").write_text(json.dumps(document, indent=2))
        text = [f"`{command}`", "", *notes, "", render(rows, markdown=True), ""]
        text += [f"- error: {line}" for line in errors]
        out.with_suffix(".md").write_text("\n".join(text) + "\n")
        print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


def report_again(options: argparse.Namespace) -> None:
    """Print (and with ``--out`` write) the table of an earlier run's JSON again."""
    document = json.loads(Path(options.report).read_text())
    for entry in document["samples"]:
        if entry["metric"] != "overhead_us":  # derived again
            for name, values in entry["samples"].items():
                key = (entry["workload"], entry["case"], entry["metric"])
                RESULTS.samples.setdefault(key, {})[name] = values
    for entry in document.get("error_keys", []):
        RESULTS.errors[(entry["workload"], entry["case"], entry["subject"])] = entry["error"]
    chosen = []
    for name, version in document["subjects"].items():
        kind = "bare" if name == "bare" else "current" if name == "current" else "original"
        chosen.append(Subject(name, kind, [], version=version or ""))
    options.rounds = document["rounds"]
    report(chosen, options, document["command"], document["date"])


def stop_everything(*_: object) -> None:
    for process in list(RUNNING):
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    if _:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", default="bare,original-0.8.1,original-latest,current")
    parser.add_argument("--workload", default=",".join(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--rebuild", action="store_true", help="recreate the virtualenvs")
    parser.add_argument("--load", choices=["wrk", "python"], default=None)
    parser.add_argument("--duration", type=float, default=10, help="http: seconds of load")
    parser.add_argument("--connections", type=int, default=32, help="http: connections")
    parser.add_argument("--per-request", type=int, default=100, help="inproc/storage")
    parser.add_argument("--requests", type=int, default=100, help="inproc/storage")
    parser.add_argument("--storage-requests", type=int, default=20, help="storage")
    parser.add_argument("--stores", default="sqlite,postgresql,mysql,redis")
    parser.add_argument("--memory-tasks", type=int, default=100_000)
    parser.add_argument("--memory-storage", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--history", type=int, default=50_000, help="read: finished tasks")
    parser.add_argument("--read-runs", type=int, default=5)
    parser.add_argument("--crash-tasks", type=int, default=2_000)
    parser.add_argument("--crash-work-ms", type=float, default=20)
    parser.add_argument("--crash-lease", type=float, default=5, help="current's lease_ttl")
    parser.add_argument("--crash-settle", type=float, default=15)
    parser.add_argument("--timeout", type=float, default=600, help="per subprocess step")
    parser.add_argument("--out", help="write PATH.json and PATH.md")
    parser.add_argument("--report", metavar="JSON", help="only show an earlier run's results")
    options = parser.parse_args()
    if options.report:
        report_again(options)
        return
    if options.quick:
        options.rounds, options.duration, options.requests = 1, 3, 20
        options.storage_requests = 10
        options.memory_tasks, options.history, options.crash_tasks = 10_000, 5_000, 1_000
    if options.load is None:
        options.load = "wrk" if shutil.which("wrk") else "python"
    command = "python benchmarks/compare.py " + " ".join(sys.argv[1:])
    signal.signal(signal.SIGTERM, stop_everything)
    VENVS.mkdir(exist_ok=True)
    chosen = subjects(options.subjects.split(","))
    for subject in chosen:
        if subject.error is None:
            try:
                prepare(subject, options.rebuild)
                print(f"{subject.name}: {subject.version}", flush=True)
            except Failed as exc:
                subject.error = str(exc)
                print(f"{subject.name}: {exc}", file=sys.stderr, flush=True)
    ready = [subject for subject in chosen if subject.error is None]
    print(f"load generator: {options.load}; {machine()}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="taskflow-bench-") as scratch:
            for workload in options.workload.split(","):
                for round_number in range(1 if workload == "crash" else options.rounds):
                    for subject in ready:
                        print(f"{workload} round {round_number + 1}: {subject.name}", flush=True)
                        RUNNERS[workload](subject, options, Path(scratch))
    finally:
        stop_everything()
    report(chosen, options, command)


if __name__ == "__main__":
    main()
