"""Where a batch's work runs (consent/batch/run.py): the caller's executor, or a local pool of warmed worker
processes started from a fork server; and the bounded hand-out of tasks that keeps memory flat."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs

from .worker import BatchJob, Outcome, Task, run_task, warm_worker


def bounded(executor: cf.Executor, fn: Callable[[Task], Outcome], tasks: Iterable[Task],
             window: int) -> Iterator[Outcome]:
    """Submit at most ``window`` tasks at a time, so memory stays flat however long the batch is. A task
    whose worker put it back (the shared work it needs was being made by another worker) is handed out
    again after the tasks already submitted; then its worker waits for that work if need be."""
    pending: dict[cf.Future[Outcome], Task] = {}

    def settle() -> Iterator[Outcome]:
        done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        for future in done:
            task, outcome = pending.pop(future), future.result()
            if outcome.put_back:
                again = attrs.evolve(task, put_back=True)
                pending[executor.submit(fn, again)] = again
            else:
                yield outcome

    for task in tasks:
        pending[executor.submit(fn, task)] = task
        if len(pending) >= window:
            yield from settle()
    while pending:
        yield from settle()


class Pool:
    """The executor a batch runs on: the caller's, or a local process pool of warmed workers that
    share a folder for the work common to a group of forms (removed when the batch ends)."""

    def __init__(self, job: BatchJob, executor: cf.Executor | None, jobs: int | None) -> None:
        import functools
        import tempfile

        self.own = executor is None
        self.shared: str | None = None
        if executor is None:
            self.shared = tempfile.mkdtemp(prefix="consent-batch-")
            job = attrs.evolve(job, shared_dir=self.shared)
            executor = cf.ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1, mp_context=process_context(),
                                              initializer=warm_worker, initargs=(job,))
            self.fn: Callable[[Task], Outcome] = run_task
        else:
            self.fn = functools.partial(run_task, job=job)
        self.executor = executor
        self.workers = getattr(executor, "_max_workers", None) or jobs or os.cpu_count() or 1

    def close(self) -> None:
        if self.own:
            self.executor.shutdown(wait=True, cancel_futures=True)
        if self.shared is not None:
            import shutil

            shutil.rmtree(self.shared, ignore_errors=True)


def process_context() -> Any:
    """How worker processes start. Not as forks of this process: a fork would share, then copy page by
    page as Python's garbage collector touches them, everything the coordinator holds (the records),
    and memory would grow with the batch. From a fork server that has imported the renderers, where
    the platform has one: each worker starts in milliseconds, and the imported code stays shared
    between the workers (counted once in their memory). Else (Windows, macOS) clean ("spawn")."""
    if "forkserver" in multiprocessing.get_all_start_methods() and sys.platform == "linux":
        from multiprocessing import forkserver

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["consent.batch.preload"])
        # The fork server runs `python -c ...`, which puts the current folder first on sys.path (and
        # Python 3.11 ignores this process's sys.path there): run from a folder holding a consent/
        # source tree, it would import that instead of the installed package. PYTHONSAFEPATH keeps the
        # current folder off. (A server started earlier by the program keeps its own modules: the
        # workers then import what they need themselves.)
        saved = os.environ.get("PYTHONSAFEPATH")
        os.environ["PYTHONSAFEPATH"] = "1"
        try:
            forkserver.ensure_running()
        finally:
            if saved is None:
                del os.environ["PYTHONSAFEPATH"]
            else:
                os.environ["PYTHONSAFEPATH"] = saved
        return context
    return multiprocessing.get_context("spawn")
