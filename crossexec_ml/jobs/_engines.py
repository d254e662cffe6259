"""Province-scale scoring of partitioned Parquet: a chunked pandas engine and a Dask engine.

A province holds millions of open cases, more than one process should hold in memory. Scoring
splits into a row-wise stage (probabilities, rung, flags, cohort, fingerprint, expected gain,
guidance: :func:`crossexec_ml.jobs.score_rows`) and a global stage (the order with its
floors, the top-k, reasons for the top: :func:`crossexec_ml.jobs.rank_rows`). Both engines
run it in two passes over the input pieces (a file, or a run of a large file's row groups):

1. each piece is read, validated against the contract exactly as
   :func:`crossexec_ml.data.read_cases`
   would (errors name the file, row and column), scored row-wise, and written to a temporary
   folder; only the few rank keys of its rows (:data:`crossexec_ml.jobs.RANK_KEYS`) come
   back;
2. the keys of all rows are ordered at once (so ``priority_rank`` is global, never per piece),
   then each piece gets its slice of the order, reasons for its rows in the top
   ``explain_top``, and is written as one part of the output.

The output folder (``part-00000.parquet``, ...) is built beside its destination and renamed into
place only when every part is written; a failure leaves no output folder. Concatenating the
parts and sorting by ``priority_rank`` (:func:`read_scored_parts`) gives exactly the rows of
:func:`crossexec_ml.jobs.score_cases` on all cases at once.

``engine="pandas"`` runs the pieces one after another in this process (memory bounded by one
piece plus the keys), or, for large Parquet input on two cores or more, in two spawned worker
processes that each load the model once; ``engine="dask"`` runs them as ``dask.dataframe``
partitions on a ``distributed`` cluster: a local one by default (processes, 2 workers x 1
thread) or an existing scheduler. Workers load the model folder themselves (the same files,
checked against the same SHA-256), so nothing but paths and small arrays travels between
processes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from crossexec_ml.decide import PriorityOrder, ledger_decisions
from crossexec_ml.errors import InputError
from crossexec_ml.jobs._pieces import (
    PIECE_ROWS,
    PartitionError,
    Piece,
    _input_files,
    _refuse_unsafe_output,
    list_pieces,
    read_piece,
)
from crossexec_ml.jobs._pipeline import (
    EXPLAIN_TOP,
    RANK_KEYS,
    SCORE_COLUMNS,
    rank_rows,
    reasons_for,
    score_rows,
    with_order,
)
from crossexec_ml.model import load_model
from crossexec_ml.settings import (
    CohortSettings,
    LadderSettings,
    PrioritySettings,
    resolve_policy,
)

#: The engines :func:`score_partitioned` knows.
ENGINES: tuple[str, ...] = ("pandas", "dask")

_PART_ROW_GROUP = 16_384  # rows per row group of an output part

_ROWS_DIR = "_rows"  # row-wise results between the passes, inside the temporary output folder
_SPOOL_DIR = "_spool"  # CSV/XLSX inputs as text Parquet pieces, inside the same folder


@dataclass(frozen=True)
class ScaleRun:
    """What :func:`score_partitioned` did.

    Attributes
    ----------
    out_dir : pathlib.Path
        The output folder (``part-*.parquet``).
    engine : str
    model_id : str
    n_rows, n_ranked, n_candidates, n_parts : int
        Rows scored, rows with a ``priority_rank``, candidates this cycle, output parts.
    seconds : dict
        Wall time of ``rows`` (pass 1), ``rank`` (global order) and ``write`` (pass 2).
    scoring_policy : dict, optional
        Which scoring policy made the list and where it came from
        (:func:`crossexec_ml.settings.resolve_policy`).
    """

    out_dir: Path
    engine: str
    model_id: str
    n_rows: int
    n_ranked: int
    n_candidates: int
    n_parts: int
    seconds: dict[str, float]
    scoring_policy: dict | None = None


# --------------------------------------------------------------------------------------------
# The two passes, as plain functions of a piece (run in this process or on Dask workers)
# --------------------------------------------------------------------------------------------

# Models loaded by this process, by folder and file hash: each worker loads the model once.
_MODELS: dict[tuple[str, str], object] = {}


_MODELS_LOCK = threading.Lock()


def _model(model_dir: str, sha: str):
    key = (model_dir, sha)
    with _MODELS_LOCK:
        return _load_once(key, model_dir, sha)


def _load_once(key: tuple[str, str], model_dir: str, sha: str):
    if key not in _MODELS:
        model, card = load_model(model_dir)
        if card["model_sha256"] != sha:
            raise InputError(
                f"{model_dir}: the model changed while the list was being scored; run again"
            )
        _MODELS.clear()
        _MODELS[key] = model
    return _MODELS[key]


@dataclass(frozen=True)
class _Job:
    """What every task needs besides its piece (small; shipped to workers)."""

    model_dir: str
    model_sha: str
    model_id: str
    rows_dir: str
    out_dir: str
    ladder: LadderSettings | None
    cohort: CohortSettings | None
    priority: PrioritySettings | None
    decisions: Mapping[str, Mapping[str, object]] | None
    allow_personal: bool


def _part_name(i: int) -> str:
    return f"part-{i:05d}.parquet"


def _rows_name(i: int) -> str:
    return f"rows-{i:05d}.arrow"


def _save(frame: pd.DataFrame, path: Path) -> None:
    """A frame between the passes, as Arrow IPC (LZ4): written and read back several times
    faster than Parquet, and never seen by anyone (the temporary folder goes at the end)."""
    import pyarrow as pa
    import pyarrow.feather as feather

    feather.write_feather(pa.Table.from_pandas(frame, preserve_index=False), path, "lz4")


def _load(path: Path) -> pd.DataFrame:
    import pyarrow.feather as feather

    return feather.read_table(path).to_pandas()


def _pass_rows(job: _Job, i: int, piece: Piece) -> pd.DataFrame:
    """Pass 1: read, validate and score one piece row-wise; keep its rows; return its keys."""
    cases = read_piece(piece, allow_personal_columns=job.allow_personal)
    rows = score_rows(
        _model(job.model_dir, job.model_sha),
        cases,
        model_id=job.model_id,
        ladder=job.ladder,
        cohort=job.cohort,
        priority=job.priority,
        decisions=job.decisions,
    )
    _save(rows, Path(job.rows_dir) / _rows_name(i))
    keys = rows[list(RANK_KEYS)].copy()
    keys["piece"] = np.int32(i)
    # A 64-bit hash of each row's key, made here (in parallel, piece by piece) so the global
    # stage finds duplicates across pieces by sorting numbers instead of factorising strings.
    keys["key_hash"] = pd.util.hash_pandas_object(
        rows[["case_id", "as_of_date"]], index=False
    ).to_numpy()
    return keys


def _order_name(i: int) -> str:
    return f"order-{i:05d}.arrow"


def _pass_write(job: _Job, i: int, piece: Piece, explain: np.ndarray) -> int:
    """Pass 2: one piece's rows with its slice of the global order (and reasons), written.

    ``explain``: the piece's rows (0-based, in rank order) among the top of the list.
    """
    rows_dir = Path(job.rows_dir)
    rows = _load(rows_dir / _rows_name(i))
    sl = _load(rows_dir / _order_name(i))
    order = PriorityOrder(
        gain=rows["expected_gain"].to_numpy(),
        rank=sl["rank"].to_numpy(),
        candidate=sl["candidate"].to_numpy(),
        floor_reason=sl["floor_reason"].to_numpy(dtype=object),
        proposal_propensity=(
            sl["proposal_propensity"].to_numpy() if "proposal_propensity" in sl else None
        ),
    )
    ranked = with_order(rows, order)
    if len(explain):
        cases = read_piece(piece, allow_personal_columns=job.allow_personal, rows=explain)
        why = reasons_for(_model(job.model_dir, job.model_sha), cases, job.ladder)
        top = np.arange(len(explain))  # with_order put them first, in the same order
        for col in why:
            ranked.loc[top, col] = why[col].to_numpy()
    columns = [
        *SCORE_COLUMNS,
        *(["proposal_propensity"] if "proposal_propensity" in ranked else []),
    ]
    # Row groups of 16,384 rows: a merge into one file (jobs/_merge.py) holds one group of
    # each part at a time, not whole parts.
    ranked[columns].to_parquet(
        Path(job.out_dir) / _part_name(i), index=False, row_group_size=_PART_ROW_GROUP
    )
    (rows_dir / _rows_name(i)).unlink()
    (rows_dir / _order_name(i)).unlink()
    return len(ranked)


def _write_order(
    order: PriorityOrder, bounds: np.ndarray, i: int, rows_dir: Path, explain_top: int
) -> np.ndarray:
    """Store piece ``i``'s slice of the global order beside its rows (a file, not a message:
    a province's order would make a graph of hundreds of MB); return its rows to explain."""
    lo, hi = int(bounds[i]), int(bounds[i + 1])
    rank = order.rank[lo:hi]
    piece = {
        "rank": rank,
        "candidate": order.candidate[lo:hi],
        "floor_reason": pd.array(order.floor_reason[lo:hi], dtype="string"),
    }
    if order.proposal_propensity is not None:
        piece["proposal_propensity"] = order.proposal_propensity[lo:hi]
    _save(pd.DataFrame(piece), rows_dir / _order_name(i))
    top = np.flatnonzero(~np.isnan(rank) & (rank <= explain_top))
    return top[np.argsort(rank[top], kind="stable")]


# --------------------------------------------------------------------------------------------
# Executors
# --------------------------------------------------------------------------------------------


def _run_pandas(
    fn: Callable,
    jobs: list[tuple],
    desc: str,
    progress: bool,
    threads: int = 1,
    pool: _Workers | None = None,
) -> Iterator[tuple[int, object]]:
    """The jobs in order: in ``pool``'s worker processes, else in this process (with
    ``threads`` > 1 that many at a time).

    Threads pay only where a piece's time is in Arrow kernels and NumPy, which release the
    GIL; each thread's BLAS and OpenMP pools are held to one thread meanwhile, so two pieces
    never ask for more cores than there are (NOTEBOOK_NOTES: oversubscription).
    """
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc=desc, unit="part", disable=not progress)
    if pool is not None:
        for i, result in enumerate(pool.map(fn, jobs)):
            yield i, result
            bar.update(1)
        bar.close()
        return
    if threads <= 1:
        for i, args in enumerate(jobs):
            yield i, fn(*args)
            bar.update(1)
        bar.close()
        return
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1), ThreadPoolExecutor(threads) as pool_:
        for i, result in enumerate(pool_.map(lambda args: fn(*args), jobs)):
            yield i, result
            bar.update(1)
    bar.close()


# What each worker process holds to one thread: BLAS/OpenMP (read when a library loads, so set
# before the worker imports scikit-learn) and Arrow's own pool (set in the worker).
_ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _init_worker() -> None:
    import signal

    import pyarrow as pa
    from threadpoolctl import threadpool_limits

    # Ctrl-C reaches the whole process group: the parent stops the run and ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update(_ONE_THREAD)
    threadpool_limits(limits=1)  # libraries already loaded while unpickling this function
    pa.set_cpu_count(1)


def _call(task: tuple[Callable, tuple]) -> object:
    fn, args = task
    return fn(*args)


class _Workers:
    """Worker processes for the pandas engine, one piece each at a time.

    Processes, not threads: with reading and validation vectorised, most of a piece's time is
    the model's Python-level work and pandas, which hold the GIL; two threads measured slower
    than one (53 s against 36 s for 2M rows), two processes scale. Each worker loads the model
    once (as Dask workers do) and keeps it for both passes. Spawned, not forked, so no lock or
    thread of this process is copied into them; a worker that dies (killed for memory) fails
    the run with a message instead of hanging it.
    """

    def __init__(self, n: int):
        import multiprocessing
        import sys
        import types
        from concurrent.futures import ProcessPoolExecutor

        saved = {k: os.environ.get(k) for k in _ONE_THREAD}
        main = sys.modules["__main__"]
        os.environ.update(_ONE_THREAD)  # inherited by the spawned interpreters
        # The workers need nothing from the caller's script: shown a bare main module, spawn
        # does not import the script again in each worker (which would run a script without
        # an `if __name__ == "__main__":` guard a second time), as for a notebook.
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            self._pool = ProcessPoolExecutor(
                n, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
            )
            # Start every worker now, while the bare main module is in place.
            for f in [self._pool.submit(os.getpid) for _ in range(n)]:
                f.result()
        finally:
            sys.modules["__main__"] = main
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def map(self, fn: Callable, jobs: list[tuple]) -> Iterator[object]:
        """``fn(*args)`` for each job, in order (at most ``n`` running at once)."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            yield from self._pool.map(_call, [(fn, args) for args in jobs])
        except BrokenProcessPool:
            raise InputError(
                "a worker process of the scoring run ended abruptly (most likely out of "
                "memory); nothing was written: free memory and run again, or score one piece "
                "at a time in one process (score_partitioned(..., processes=1))"
            ) from None

    def close(self, *, failed: bool = False) -> None:
        if failed:
            # A task still running must not write into the output being removed.
            procs = list((getattr(self._pool, "_processes", None) or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for proc in procs:
                proc.terminate()
        self._pool.shutdown(wait=True)


# By default a pandas-engine run starts worker processes for Parquet input of this many rows
# or more: below it, starting them (an interpreter, the libraries and the model each, about
# 3.5 s of CPU) costs about what it saves. Not for CSV or XLSX input: a piece read as text
# takes about 1 GB in a worker, and two of them broke the 2 GB bound of a 1M-row CSV (2.8 GB
# measured, against 1.3 GB in one process).
_PROCESS_ROWS = 500_000


class _DaskRunner:
    """Runs the passes as ``dask.dataframe`` partitions on a ``distributed`` client."""

    def __init__(self, scheduler: str | None, client, n_workers: int):
        from distributed import Client, LocalCluster

        self._own: list = []
        if client is not None:
            self.client = client
        elif scheduler:
            self.client = Client(scheduler)
            self._own = [self.client]
        else:
            # Processes, one thread each: scoring holds the GIL in pandas; the nanny sets
            # OMP_NUM_THREADS=1 in each worker so the two do not fight over BLAS threads.
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                # Any free port: a fixed one (8787) may be taken by another cluster here.
                dashboard_address=":0",
            )
            self.client = Client(cluster)
            self._own = [self.client, cluster]

    def close(self) -> None:
        for thing in self._own:
            thing.close()

    def run(
        self, fn: Callable, jobs: list[tuple], meta: pd.DataFrame, desc: str, progress: bool
    ) -> Iterator[tuple[int, object]]:
        import dask.dataframe as dd
        from distributed import as_completed
        from tqdm.auto import tqdm

        frame = dd.from_map(
            lambda args: fn(*args),
            jobs,
            meta=meta,
            enforce_metadata=False,
            label=desc.replace(" ", "-"),
        )
        futures = self.client.compute(frame.to_delayed())
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            with tqdm(total=len(futures), desc=desc, unit="part", disable=not progress) as bar:
                for fut in as_completed(futures):
                    bar.update(1)
                    yield index[fut.key], fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _keys_meta() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": pd.Series([], dtype="string"),
            "as_of_date": pd.Series([], dtype="datetime64[ns]"),
            "expected_gain": pd.Series([], dtype=float),
            "stalled": pd.Series([], dtype=bool),
            "flag_long_unresolved": pd.Series([], dtype=bool),
            "idle_days": pd.Series([], dtype=float),
            "is_livelihood": pd.Series([], dtype=bool),
            "piece": pd.Series([], dtype=np.int32),
            "key_hash": pd.Series([], dtype=np.uint64),
        }
    )


def _count_frame(fn: Callable) -> Callable:
    def wrapped(*args):
        return pd.DataFrame({"rows": [fn(*args)]})

    return wrapped


# --------------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------------


def _duplicate_error(keys: pd.DataFrame, pieces: list[Piece], local: np.ndarray) -> None:
    """Refuse two rows with one key across pieces (each piece was checked on its own)."""
    key = ["case_id", "as_of_date"]
    if "key_hash" in keys:
        # Distinct hashes mean distinct keys: the usual case, decided by one sort of numbers.
        # Equal hashes (a duplicate, or a collision) fall through to the exact comparison.
        h = np.sort(keys["key_hash"].to_numpy(dtype=np.uint64))
        if not (h[1:] == h[:-1]).any():
            return
    later = keys.duplicated(key, keep="first").to_numpy()
    if not later.any():
        return
    b = int(np.flatnonzero(later)[0])
    same = (keys["case_id"] == keys["case_id"].iloc[b]) & (
        keys["as_of_date"] == keys["as_of_date"].iloc[b]
    )
    a = int(np.flatnonzero(same.to_numpy())[0])

    def at(j: int) -> str:
        p = pieces[int(keys["piece"].iloc[j])]
        return f"{p.name} row {p.first_row + int(local[j]) + 2}"

    raise PartitionError(
        f"{at(b)}, column case_id (案号): {keys['case_id'].iloc[b]!r} -> duplicate: {at(a)} "
        "has the same case_id (案号) and as_of_date (评估基准日); keep one row per key "
        f"({int(later.sum())} such row(s) in all)"
    )


def _remove(tmp: Path) -> None:
    """Remove the temporary output; again after a moment if a task still running on another
    client's workers wrote into it meanwhile (cancelling does not stop a running task)."""
    for _ in range(3):
        shutil.rmtree(tmp, ignore_errors=True)
        if not tmp.exists():
            return
        time.sleep(0.5)


def _move_into_place(tmp: Path, out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise InputError(f"{out}: exists and is not a folder; choose another --out")
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def score_partitioned(
    model_dir: str | os.PathLike[str],
    cases: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    engine: str = "pandas",
    scheduler: str | None = None,
    client=None,
    n_workers: int = 2,
    ladder: LadderSettings | None = None,
    cohort: CohortSettings | None = None,
    priority: PrioritySettings | None = None,
    capacity: int | None = None,
    ledger_path: str | os.PathLike[str] | None = None,
    explain_top: int = EXPLAIN_TOP,
    piece_rows: int = PIECE_ROWS,
    allow_personal_columns: bool | None = None,
    progress: bool = True,
    threads: int | None = None,
    explore: float | None = None,
    explore_seed: int | None = None,
    processes: int | None = None,
) -> ScaleRun:
    """Score partitioned Parquet into partitioned Parquet, ranked across all partitions.

    Parameters
    ----------
    model_dir : path-like
        Folder written by :func:`crossexec_ml.jobs.train`.
    cases : path-like, glob or list of paths
        Partitioned Parquet (see :func:`list_pieces`).
    out_dir : path-like
        Output folder of ``part-NNNNN.parquet`` files with :data:`SCORE_COLUMNS`, each sorted
        by ``priority_rank``; replaced atomically (built beside it, renamed on success).
    engine : {"pandas", "dask"}
        ``pandas``: pieces one after another in this process; ``dask``: pieces as
        ``dask.dataframe`` partitions on a ``distributed`` cluster.
    scheduler : str, optional
        Dask only: address of an existing scheduler (``tcp://host:8786``); default a local
        cluster of ``n_workers`` processes with one thread each.
    client : distributed.Client, optional
        Dask only: use this client (and leave it open).
    n_workers : int
        Workers of the local cluster.
    ladder, cohort, priority : settings, optional
        Override those parts of the scoring policy saved in the model card, as
        :func:`crossexec_ml.jobs.score_cases`.
    capacity : int, optional
        Cases to reassign this cycle (overrides the policy's ``priority.capacity`` only).
    ledger_path : path-like, optional
        Decision ledger, as :func:`crossexec_ml.jobs.score`.
    explain_top : int
        Reasons for this many top-ranked cases.
    piece_rows : int
        Rows per piece when a file is split by row groups.
    allow_personal_columns : bool, optional
        As :func:`crossexec_ml.data.validate_frame` (default: the reader's current setting).
    progress : bool
        Progress bars (parts done) for both passes.
    threads : int, optional
        Pandas only: pieces scored at the same time by threads of this process (BLAS and
        OpenMP held to one thread each meanwhile); default 1. Measured slower than processes
        (the GIL): kept for a machine where worker processes cannot be started.
    explore, explore_seed : optional
        The exploration band and its seed, as :func:`crossexec_ml.jobs.score`.
    processes : int, optional
        Pandas only: pieces scored at the same time by that many worker processes (each loads
        the model once; BLAS, OpenMP and Arrow held to one thread each). Default: 2 on a
        machine with 2 cores or more for Parquet input of 500,000 rows or more in two pieces
        or more, else 1 (this process): below that, starting the workers costs about what it
        saves, and a CSV or XLSX piece read as text takes about 1 GB in a worker (two broke
        the 2 GB bound of a 1M-row CSV). 1 also when ``threads`` is given. Memory holds one
        piece per worker (about 0.6 GB for a Parquet piece of 250,000 rows).

    Returns
    -------
    ScaleRun

    Raises
    ------
    PartitionError
        A piece is unreadable or invalid (file, row, column), or two rows share a key.
    InputError, ModelFileError
        No input files, an unusable output folder, a refused model.
    """
    from crossexec_ml.data import personal_columns_allowed

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "pandas" and (scheduler or client is not None):
        raise ValueError("scheduler and client are for engine='dask'")
    if allow_personal_columns is None:
        allow_personal_columns = personal_columns_allowed()
    if threads is not None and threads > 1 and processes is not None and processes > 1:
        raise ValueError("pieces run in threads or in processes, not both")
    auto = processes is None
    if processes is None:
        processes = 1 if threads is not None and threads > 1 else min(2, os.cpu_count() or 1)
    threads = threads or 1
    model_dir = str(Path(model_dir).resolve())
    _, card = load_model(model_dir)  # refuse a bad model before any work
    policy, policy_record = resolve_policy(
        card,
        ladder=ladder,
        cohort=cohort,
        priority=priority,
        capacity=capacity,
        explore=explore,
        explore_seed=explore_seed,
    )
    _input_files(cases)  # refuse a missing or foreign input before any work
    _refuse_unsafe_output(out_dir, cases, model_dir, ledger_path, folder=True)
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    decisions = ledger_decisions(ledger_path) if ledger_path is not None else None
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    (tmp / _ROWS_DIR).mkdir()
    job = _Job(
        model_dir=model_dir,
        model_sha=card["model_sha256"],
        model_id=card["model_id"],
        rows_dir=str(tmp / _ROWS_DIR),
        out_dir=str(tmp),
        ladder=policy.ladder,
        cohort=policy.cohort,
        priority=policy.priority,
        decisions=decisions,
        allow_personal=bool(allow_personal_columns),
    )
    runner = _DaskRunner(scheduler, client, n_workers) if engine == "dask" else None
    workers: _Workers | None = None
    seconds: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        pieces = list_pieces(
            cases, piece_rows, tmp / _SPOOL_DIR, allow_personal_columns=job.allow_personal
        )
        seconds["spool"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if runner is None and processes > 1 and len(pieces) > 1:
            typed = all(not p.source for p in pieces)  # Parquet, not spooled CSV/XLSX text
            if not auto or (typed and sum(p.n_rows for p in pieces) >= _PROCESS_ROWS):
                workers = _Workers(min(processes, len(pieces)))
        jobs = [(job, i, p) for i, p in enumerate(pieces)]
        if runner is None:
            done = _run_pandas(_pass_rows, jobs, "score (rows)", progress, threads, workers)
        else:
            done = runner.run(_pass_rows, jobs, _keys_meta(), "score (rows)", progress)
        parts: list[pd.DataFrame | None] = [None] * len(pieces)
        for i, keys in done:
            parts[i] = keys
        keys = pd.concat(parts, ignore_index=True)
        seconds["rows"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        sizes = np.array([len(p) for p in parts])
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        local = np.arange(len(keys)) - np.repeat(bounds[:-1], sizes)
        _duplicate_error(keys, pieces, local)
        order = rank_rows(keys, policy.priority)
        del parts
        seconds["rank"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        rows_dir = Path(job.rows_dir)
        jobs = [
            (job, i, p, _write_order(order, bounds, i, rows_dir, explain_top))
            for i, p in enumerate(pieces)
        ]
        if runner is None:
            for _ in _run_pandas(_pass_write, jobs, "write (parts)", progress, threads, workers):
                pass
        else:
            count_meta = pd.DataFrame({"rows": pd.Series([], dtype=int)})
            for _ in runner.run(
                _count_frame(_pass_write), jobs, count_meta, "write (parts)", progress
            ):
                pass
        (tmp / _ROWS_DIR).rmdir()
        shutil.rmtree(tmp / _SPOOL_DIR, ignore_errors=True)
        _move_into_place(tmp, out)
        seconds["write"] = time.perf_counter() - t0
    except BaseException:
        if runner is not None:
            runner.close()
            runner = None
        if workers is not None:
            workers.close(failed=True)
            workers = None
        _remove(tmp)
        raise
    finally:
        if runner is not None:
            runner.close()
        if workers is not None:
            workers.close()
    ranked = ~np.isnan(order.rank)
    return ScaleRun(
        out_dir=out,
        engine=engine,
        model_id=card["model_id"],
        n_rows=int(len(keys)),
        n_ranked=int(ranked.sum()),
        n_candidates=int(order.candidate.sum()),
        n_parts=len(pieces),
        seconds=seconds,
        scoring_policy=policy_record,
    )


def read_scored_parts(out_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The whole scored list from an output folder, sorted by ``priority_rank``.

    Parameters
    ----------
    out_dir : path-like
        Folder written by :func:`score_partitioned`.

    Returns
    -------
    pandas.DataFrame
        :data:`SCORE_COLUMNS`; ranked rows first by rank, then unranked rows in input order.
    """
    folder = Path(out_dir)
    files = sorted(folder.glob("part-*.parquet"))
    if not files:
        raise InputError(f"{folder}: no scored parts; run `crossexec score --engine ...` first")
    df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    df = df.sort_values("priority_rank", na_position="last", kind="stable")
    return df.reset_index(drop=True)
