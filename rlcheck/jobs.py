"""One job model for every analysis: a grid of pure, seeded jobs, a runner, and a resumable store.

An analysis declares its work as :class:`Job` s: a module-level function, JSON-describable
arguments (ids, seeds, settings; never arrays: a job loads or rebuilds its own data) and a stable
``key`` such as ``"Ant-v4/seed=3/core"``. :func:`run_jobs` runs the jobs that are not already in
the store on a runner and returns every result by key; the analysis then reduces them, in a
straight line, to its tables and verdict.

* **Runners.** :class:`LocalRunner` (the default): one spawned process per core, nothing to
  install or start. :class:`RayRunner` (``pip install rlcheck[ray]``): a local Ray, or an existing
  cluster by address. Both run the same :class:`Call` in a worker with one torch thread, and the
  result always travels as JSON text, so a job's result is the same object (bit for bit where the
  computation is deterministic) whichever runner ran it, and whether it was computed now or read
  back from the store.
* **Store.** :class:`JobStore` keeps one JSON file per finished job in ``<out_dir>/jobs/``,
  written atomically (:mod:`rlcheck.atomic`: temporary file, fsync, ``os.replace``), holding
  the key, the job's fingerprint (function and arguments) and the result. A rerun skips every
  job whose file has the same fingerprint, so an interrupted run resumes where it stopped;
  delete the folder to recompute.
* **Failures.** A job that raises, or whose worker dies, is retried up to ``retries`` times; one
  that still fails is reported by key with its traceback (:class:`JobsFailed`) after every other
  job has finished and been stored.
* **Progress.** One bar over the whole grid (done / failed / running, time left), plain
  periodic lines where standard error is not a terminal (:mod:`rlcheck.progress`).

``verify --ray [ADDRESS]`` selects Ray for every analysis with :func:`use_runner`; analyses call
:func:`run_jobs` without naming a runner.

Longer than 400 lines because the job model, its two runners and the store share one wire format
(a ``Call`` out, JSON text back); together, the two runners visibly run the same thing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import multiprocessing as mp
import os
import pickle
import re
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from types import ModuleType
from typing import Any

from rlcheck.atomic import write_text_atomic
from rlcheck.paths import ANALYSES, ANALYSES_PACKAGE, ROOT
from rlcheck.progress import progress_bar, status

DEFAULT_RETRIES = 2
"""Extra attempts of a failed job (a flaky node, a killed worker) before it is reported."""

RAY_ADDRESS_ENV = "RAY_ADDRESS"


# ------------------------------------------------------------------------------ jobs


@dataclass(frozen=True)
class Job:
    """One unit of work: ``fn(*args, **kwargs)``, pure and seeded, identified by ``key``.

    ``fn`` is a module-level function (of ``rlcheck`` or of an analysis); ``args`` and
    ``kwargs`` are JSON-describable (numbers, strings, lists, tuples, dicts, dataclasses), so the
    job is small to ship and its fingerprint is exact. The result must be JSON-serialisable.
    """

    key: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ValueError(f"job key must be a non-empty string, got {self.key!r}")
        if not callable(self.fn):
            raise TypeError(f"job {self.key!r}: fn must be callable, got {type(self.fn).__name__}")
        if "<locals>" in getattr(self.fn, "__qualname__", "<locals>"):
            raise ValueError(f"job {self.key!r}: fn must be a module-level function, "
                             f"got {getattr(self.fn, '__qualname__', self.fn)!r}")
        if getattr(self.fn, "__module__", "__main__") == "__main__":
            raise ValueError(f"job {self.key!r}: fn {self.fn.__qualname__!r} is defined in "
                             "__main__, which workers cannot import; define it in a module")

    @property
    def function(self) -> str:
        """``module:qualname`` of ``fn``."""
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    @property
    def fingerprint(self) -> str:
        """sha256 of the function's name and the JSON description of its arguments: a stored
        result is reused only when this matches."""
        text = json.dumps({"fn": self.function, "args": list(self.args),
                           "kwargs": dict(self.kwargs)}, sort_keys=True, default=_describe)
        return hashlib.sha256(text.encode()).hexdigest()

    def call(self) -> Call:
        """What a worker needs to run this job."""
        return Call(self.key, self.fn.__module__, self.fn.__qualname__, self.args,
                    dict(self.kwargs), _module_file(self.fn.__module__))


def seed_blocks(first: int, count: int, size: int) -> list[tuple[int, int]]:
    """Seeds ``first, ..., first + count - 1`` cut into consecutive ``(start, stop)`` blocks of at
    most ``size``: one job per block, so thousands of cheap seeded checks do not cost a job
    (and a stored file) each. The blocks depend only on the arguments, so their keys are
    stable."""
    if count < 0 or size < 1:
        raise ValueError(f"need count >= 0 and size >= 1, got count={count}, size={size}")
    return [(a, min(a + size, first + count)) for a in range(first, first + count, size)]


def _describe(value: Any) -> Any:
    """JSON description of an argument that ``json`` cannot encode itself."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"dataclass": type(value).__qualname__, **dataclasses.asdict(value)}
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # numpy scalar
        return value.item()
    raise TypeError(f"job arguments and results must be JSON-describable (ids, seeds, settings, "
                    f"rows of numbers), got "
                    f"{type(value).__name__}; let the job load its own data")


def _module_file(module: str) -> str | None:
    """For an analysis module (``rlcheck_analyses.<name>``), its file name, which a worker
    imports by path; ``None`` for an importable module."""
    if module.startswith(ANALYSES_PACKAGE + "."):
        return Path(sys.modules[module].__file__ or "").name
    return None


@dataclass(frozen=True)
class Call:
    """What travels to a worker: the function by name and its arguments."""

    key: str
    module: str
    qualname: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    analysis_file: str | None = None


def _resolve(call: Call) -> Callable[..., Any]:
    module = sys.modules.get(call.module)
    if module is None:
        if call.analysis_file is not None:
            module = import_analysis(call.module, ANALYSES / call.analysis_file)
        else:
            module = importlib.import_module(call.module)
    fn: Any = module
    for part in call.qualname.split("."):
        fn = getattr(fn, part)
    return fn


def import_analysis(name: str, path: Path) -> ModuleType:
    """Import ``analyses/<file>.py`` as module ``name`` (registered in ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import analysis {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class _AnalysesFinder(importlib.abc.MetaPathFinder):
    """Lets a worker unpickle objects defined in ``rlcheck_analyses.<name>`` (their module is
    ``analyses/<name>.py``, outside the package)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname == ANALYSES_PACKAGE:
            return importlib.machinery.ModuleSpec(fullname, None, is_package=True)
        if fullname.startswith(ANALYSES_PACKAGE + "."):
            file = ANALYSES / f"{fullname.split('.', 1)[1]}.py"
            if file.exists():
                return importlib.util.spec_from_file_location(fullname, file)
        return None


if not any(isinstance(f, _AnalysesFinder) for f in sys.meta_path):
    sys.meta_path.append(_AnalysesFinder())


def execute(payload: bytes) -> tuple[bool, str, float]:
    """Run a pickled :class:`Call` in this process (a worker): ``(ok, text, seconds)`` where
    ``text`` is the result as JSON when ``ok``, else the traceback.

    The payload comes from this run's own driver (never from a file). Torch runs on one thread
    so that results do not depend on how many jobs share a machine.
    """
    start = time.perf_counter()
    try:
        call: Call = pickle.loads(payload)
        fn = _resolve(call)
        _one_thread()
        value = fn(*call.args, **call.kwargs)
        return True, json.dumps(value, default=_describe), time.perf_counter() - start
    except Exception:
        return False, traceback.format_exc(), time.perf_counter() - start


def _one_thread() -> None:
    """One torch thread in a worker whose job has imported torch (a worker starts with
    ``OMP_NUM_THREADS=1``, so torch imported later by the job starts with one thread too)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


# ------------------------------------------------------------------------------ store


class JobStore:
    """Finished jobs' results, one JSON file per job in ``folder``, written atomically."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        """``<folder>/<readable key>.<hash of key>.json`` (distinct for distinct keys)."""
        slug = re.sub(r"[^A-Za-z0-9._=-]+", "_", key)[:80]
        return self.folder / f"{slug}.{hashlib.sha256(key.encode()).hexdigest()[:10]}.json"

    def load(self, job: Job) -> tuple[bool, Any]:
        """``(True, result)`` when ``job`` finished before with the same fingerprint."""
        path = self.path(job.key)
        if not path.exists():
            return False, None
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            return False, None  # unreadable: recompute (it is rewritten atomically)
        if record.get("key") != job.key or record.get("fingerprint") != job.fingerprint:
            return False, None
        return True, record["result"]

    def save(self, job: Job, result_json: str, seconds: float | None = None) -> None:
        """Write the job's record (``seconds``: its compute time, if known) atomically
        (:func:`rlcheck.atomic.write_text_atomic`: temporary file, fsync, rename)."""
        seconds_json = "null" if seconds is None else f"{seconds:.3f}"
        write_text_atomic(self.path(job.key), (
            f'{{"key": {json.dumps(job.key)}, "function": {json.dumps(job.function)}, '
            f'"fingerprint": "{job.fingerprint}", "seconds": {seconds_json}, '
            f'"result": {result_json}}}\n'))


def store_summary(folder: Path) -> dict[str, Any]:
    """How many job records ``folder`` holds and their summed compute ``seconds`` (the CPU time
    of the jobs: one thread each), with the number of records that did not time themselves."""
    count, seconds, untimed = 0, 0.0, 0
    for path in sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else []:
        try:
            value = json.loads(path.read_text()).get("seconds")
        except (OSError, ValueError):
            continue
        count += 1
        if value is None:
            untimed += 1
        else:
            seconds += float(value)
    return {"count": count, "seconds": round(seconds, 2), "untimed": untimed}


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished child processes (the local
    runner's workers, once closed); Ray's workers are not counted (see :func:`store_summary`)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


# ------------------------------------------------------------------------------ runners


@dataclass(frozen=True)
class Finished:
    """A job attempt's end: its result as JSON text, or why it failed."""

    key: str
    ok: bool
    text: str
    seconds: float


class WorkerStartError(RuntimeError):
    """A local worker process died before it could run anything (nothing to retry)."""


class LocalRunner:
    """One spawned worker process per core (``workers``), each running one job at a time.

    A worker that dies (a crash, ``os._exit``, the OOM killer) fails only the job it was
    running, and is replaced.
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers or available_cpus()
        self._ctx = mp.get_context("spawn")
        self._idle: list[tuple[Any, Connection]] = []
        self._busy: dict[Connection, tuple[Any, str]] = {}
        self._started: set[Connection] = set()

    @property
    def capacity(self) -> int:
        return self.workers

    def __enter__(self) -> LocalRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _worker(self) -> tuple[Any, Connection]:
        if self._idle:
            return self._idle.pop()
        parent, child = self._ctx.Pipe()
        # not a daemon: a job may start processes of its own (a worker exits when the pipe closes)
        process = self._ctx.Process(target=_worker_loop, args=(child,), daemon=False)
        process.start()
        child.close()
        return process, parent

    def submit(self, key: str, payload: bytes) -> None:
        process, conn = self._worker()
        conn.send_bytes(payload)
        self._busy[conn] = (process, key)

    def poll(self, timeout: float) -> list[Finished]:
        if not self._busy:
            return []
        sentinels = {proc.sentinel: conn for conn, (proc, _) in self._busy.items()}
        ready = wait([*self._busy, *sentinels], timeout)
        done: list[Finished] = []
        for item in ready:
            conn = item if isinstance(item, Connection) else sentinels[item]
            if conn not in self._busy:
                continue
            process, key = self._busy[conn]
            try:
                message = conn.recv() if conn.poll() else None
            except (EOFError, OSError):
                message = EOFError
            if message is None and process.is_alive():
                continue
            if isinstance(message, str):  # the worker has started; its result comes later
                self._started.add(conn)
                continue
            del self._busy[conn]
            if message is None or message is EOFError:
                process.join(5)
                conn.close()
                if conn not in self._started:
                    raise WorkerStartError(
                        f"a local worker process exited (code {process.exitcode}) before it "
                        "could run a job. Workers are spawned and import the __main__ script: "
                        "a script that runs jobs must guard its code with "
                        "`if __name__ == \"__main__\":` (see the traceback above).")
                done.append(Finished(key, False, f"worker process died (exit code "
                                     f"{process.exitcode}) while running job {key!r}", 0.0))
                continue
            self._idle.append((process, conn))
            ok, text, seconds = message
            done.append(Finished(key, ok, text, seconds))
        return done

    def close(self) -> None:
        """Stop idle workers (an empty payload) and terminate busy ones."""
        for _process, conn in self._idle:
            with contextlib.suppress(OSError):
                conn.send_bytes(b"")
            conn.close()
        for conn, (process, _) in self._busy.items():
            conn.close()
            process.terminate()
        for process, _ in [*self._idle, *self._busy.values()]:
            process.join(5)
            if process.is_alive():
                process.kill()
        self._idle.clear()
        self._busy.clear()
        self._started.clear()


def _worker_loop(conn: Connection) -> None:
    """A local worker: run payloads until an empty one (or the pipe closes)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # read by torch when a job imports it
        os.environ[var] = "1"
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's: it stops the workers
    conn.send("started")
    while True:
        try:
            payload = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not payload:
            return
        conn.send(execute(payload))


def available_cpus() -> int:
    """Cores this process may use (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class RayRunner:
    """Jobs as Ray tasks (one CPU each): a new local Ray, or the cluster at ``address``.

    A local Ray is started with ``num_cpus`` (default: every core) and no dashboard, and shut down
    on exit; workers find ``rlcheck`` and ``analyses/`` through ``PYTHONPATH`` (local) or the
    repository shipped as the job's working directory (cluster). A Ray already initialised by the
    caller (e.g. a test fixture) is used as it is and left running.
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self._owns = False
        self._refs: dict[Any, str] = {}
        self._ray: Any = None
        self._remote: Any = None
        self.capacity = 1

    def __enter__(self) -> RayRunner:
        ray = import_ray()
        self._ray = ray
        if not ray.is_initialized():
            init_ray(self.address, self.num_cpus)
            self._owns = True
        self._remote = ray.remote(num_cpus=1, max_retries=0)(execute)
        self.capacity = max(1, int(ray.cluster_resources().get("CPU", 1)))
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, key: str, payload: bytes) -> None:
        self._refs[self._remote.remote(payload)] = key

    def poll(self, timeout: float) -> list[Finished]:
        if not self._refs:
            return []
        ready, _ = self._ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        done = []
        for ref in ready:
            key = self._refs.pop(ref)
            try:
                ok, text, seconds = self._ray.get(ref)
            except self._ray.exceptions.RayError as exc:  # the worker died, the node was lost
                done.append(Finished(key, False, f"{type(exc).__name__}: {exc}", 0.0))
                continue
            done.append(Finished(key, ok, text, seconds))
        return done

    def close(self) -> None:
        for ref in self._refs:
            with contextlib.suppress(Exception):
                self._ray.cancel(ref, force=True)
        self._refs.clear()
        if self._owns and self._ray is not None:
            self._ray.shutdown()
            self._owns = False


Runner = LocalRunner | RayRunner


def import_ray() -> Any:
    """``import ray``, or an ``ImportError`` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError("the Ray runner needs Ray: pip install 'rlcheck[ray]'") from exc
    return ray


def init_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Start a local Ray (``num_cpus``, default every core; no dashboard) or connect to the
    cluster at ``address``, with workers able to import ``rlcheck`` and ``analyses/``."""
    ray = import_ray()
    if address is None:
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        ray.init(num_cpus=num_cpus or available_cpus(), include_dashboard=False,
                 log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    else:  # ship the repository (code, not data) as the working directory of every worker
        ray.init(address=address, log_to_driver=False, runtime_env={
            "working_dir": str(ROOT),
            "excludes": [".git", "reports", "docs/_build", ".nox", ".venv", "*.egg-info",
                         "**/__pycache__"]})


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    """Ray for the length of a block (``verify --ray``): every :class:`RayRunner` inside uses it;
    shut down at the end if this block started it."""
    ray = import_ray()
    owns = not ray.is_initialized()
    if owns:
        init_ray(address, num_cpus)
    try:
        yield
    finally:
        if owns:
            ray.shutdown()


def make_runner(ray: str | bool | None = None, workers: int | None = None) -> Runner:
    """The runner ``verify`` asks for: Ray when ``ray`` is ``True`` (a local Ray) or an address
    (``"auto"`` or ``"ray://host:10001"``), else local processes (``workers``, default one per
    core). ``$RAY_ADDRESS`` selects Ray at that address when ``ray`` is ``None``."""
    if ray is None and os.environ.get(RAY_ADDRESS_ENV):
        ray = os.environ[RAY_ADDRESS_ENV]
    if ray is True:
        return RayRunner(num_cpus=workers)
    if isinstance(ray, str) and ray:
        return RayRunner(address=ray)
    return LocalRunner(workers)


_CURRENT: list[Callable[[], Runner]] = []


@contextlib.contextmanager
def use_runner(factory: Callable[[], Runner]) -> Iterator[None]:
    """Within this block, :func:`run_jobs` without a runner uses ``factory()``."""
    _CURRENT.append(factory)
    try:
        yield
    finally:
        _CURRENT.pop()


def default_runner() -> Runner:
    """The innermost :func:`use_runner` choice, else :func:`make_runner` (local processes, or
    Ray at ``$RAY_ADDRESS``)."""
    return _CURRENT[-1]() if _CURRENT else make_runner()


# ------------------------------------------------------------------------------ the driver


@dataclass(frozen=True)
class Failure:
    """A job that failed every attempt: its key, the attempts made and the last traceback."""

    key: str
    attempts: int
    traceback: str


class JobsFailed(RuntimeError):
    """Some jobs failed after every retry; the others finished and are in the store."""

    def __init__(self, failures: Sequence[Failure], finished: int, total: int) -> None:
        self.failures = tuple(failures)
        lines = [f"{len(failures)} of {total} jobs failed ({finished} finished and stored; "
                 "a rerun resumes from them):"]
        for f in failures:
            lines.append(f"--- job {f.key!r} ({f.attempts} attempts), last error:\n"
                         f"{f.traceback.rstrip()}")
        super().__init__("\n".join(lines))


def run_jobs(jobs: Sequence[Job], store: Path | JobStore | None = None, *,
             runner: Runner | None = None, retries: int = DEFAULT_RETRIES, desc: str = "jobs"
             ) -> dict[str, Any]:
    """Run ``jobs`` (skipping those already in ``store``) and return ``{key: result}``, in the
    order of ``jobs``.

    Args:
        jobs: the grid; keys must be unique.
        store: folder (or :class:`JobStore`) keeping finished results; ``None`` keeps none.
        runner: where to run; default :func:`default_runner` (local processes, or what
            ``verify --ray`` chose).
        retries: extra attempts of a failed job before it is reported.
        desc: label of the progress bar (done, failed, running, time left; plain periodic
            lines where standard error is not a terminal: :mod:`rlcheck.progress`).

    Raises:
        JobsFailed: naming each job that failed ``retries + 1`` times, with its traceback,
            after all other jobs finished (and were stored).
    """
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    keys = [job.key for job in jobs]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"job keys must be unique; repeated: {dupes}")
    if isinstance(store, (str, Path)):
        store = JobStore(Path(store))
    results: dict[str, Any] = {}
    todo: list[Job] = []
    for job in jobs:
        found, value = store.load(job) if store is not None else (False, None)
        if found:
            results[job.key] = value
        else:
            todo.append(job)
    if todo:
        status(f"{desc}: {len(jobs)} jobs, {len(results)} already stored, {len(todo)} to run")
        failures = _drive(todo, store, runner or default_runner(), retries, desc, results)
        if failures:
            raise JobsFailed(failures, len(results), len(jobs))
    return {key: results[key] for key in keys}


def _drive(todo: list[Job], store: JobStore | None, runner: Runner, retries: int,
           desc: str, results: dict[str, Any]) -> list[Failure]:
    by_key = {job.key: job for job in todo}
    payloads = {job.key: pickle.dumps(job.call()) for job in todo}
    queue = list(by_key)
    attempts = dict.fromkeys(by_key, 0)
    failures: list[Failure] = []
    running: set[str] = set()
    with runner, progress_bar(f"{desc} [{runner.name} x{runner.capacity}]", total=len(todo),
                              unit="job") as bar:
        while queue or running:
            while queue and len(running) < runner.capacity:
                key = queue.pop(0)
                attempts[key] += 1
                runner.submit(key, payloads[key])
                running.add(key)
            bar.set_postfix(failed=len(failures), running=len(running), refresh=False)
            for fin in runner.poll(timeout=1.0):
                running.discard(fin.key)
                job = by_key[fin.key]
                if fin.ok:
                    results[fin.key] = json.loads(fin.text)
                    if store is not None:
                        store.save(job, fin.text, fin.seconds)
                elif attempts[fin.key] <= retries:
                    status(f"{desc}: job {fin.key!r} failed (attempt {attempts[fin.key]} of "
                           f"{retries + 1}), retrying: {fin.text.strip().splitlines()[-1]}")
                    queue.append(fin.key)
                    continue
                else:
                    failures.append(Failure(fin.key, attempts[fin.key], fin.text))
                bar.set_postfix(failed=len(failures), running=len(running), refresh=False)
                bar.update(1)
    return failures
