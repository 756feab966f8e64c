"""One MILP solve that cannot outrun its time limit: run in a forked child process that is
killed once the limit (plus a short grace) is past.

HiGHS checks its time limit between phases of its search, not inside all of them: the
one-node year's boundary-repair MILP, given 35-38 s, ran 80-89 s, about 65 s of root work
after the root LP checking neither the time limit nor the interrupt callbacks
(docs/engine.md). A step of a time-limited method must end in time, so a
horizon MILP runs in a child (``fork``: the model is not copied, the child's pages are
shared with this process until written) and this process waits for its result until the
deadline. A killed child counts as a solve stopped at its limit without a plan.

The child's memory counts: its growth above what it shared at the fork, added to this
process's resident size then, is noted as a peak (:func:`decomp.memory.note_peak`).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import time

import highspy
import numpy as np

from decomp.certificate import NO_PLAN
from decomp.memory import note_peak, resident_mb
from decomp.solvers import SolverError, SolveResult

#: seconds a child may run past its time limit before it is killed, at least; a share of
#: the limit above that (HiGHS stops on its own at the limit nearly always: the grace
#: lets it hand back the plan it holds)
GRACE_SECONDS = 1.0
GRACE_SHARE = 0.03

_HEADER = struct.Struct("<d")
_LENGTH = struct.Struct("<Q")


def can_guard() -> bool:
    """True where a solve can run in a forked child (POSIX)."""
    return hasattr(os, "fork") and hasattr(os, "wait4")


def deadline_after(time_limit: float) -> float:
    """Seconds after which a child given ``time_limit`` is killed."""
    return time_limit + max(GRACE_SECONDS, GRACE_SHARE * time_limit)


def guarded_solve(solver, time_limit: float | None, gap: float | None = None
                  ) -> SolveResult:
    """``solver.solve(time_limit, gap)`` (a :class:`~decomp.matrix_highs.MatrixHighs`)
    that ends within :func:`deadline_after` ``time_limit`` seconds: solved in a child
    process, its values copied back into ``solver.values`` (and its duals after an LP).
    Without a time limit, or where processes cannot fork, it is solved here."""
    if time_limit is None or not can_guard():
        return solver.solve(time_limit=time_limit, gap=gap)
    t0 = time.perf_counter()
    parent_mb = resident_mb()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        _child(solver, time_limit, gap, read_fd, write_fd)
    os.close(write_fd)
    deadline = t0 + deadline_after(time_limit)
    payload = None
    try:
        payload, child_start_mb = _receive(read_fd, deadline)
    finally:
        os.close(read_fd)
        late = time.perf_counter() >= deadline
        if payload is None:
            _kill(pid)
        _, status, usage = os.wait4(pid, 0)
    if child_start_mb is not None:
        note_peak(parent_mb + max(0.0, usage.ru_maxrss / 1024.0 - child_start_mb))
    seconds = time.perf_counter() - t0
    if payload is None and not late:
        raise SolverError(f"the guarded solve's child process ended without a result "
                          f"after {seconds:.1f} s ({_ended(status)}); out of memory?")
    if payload is None:
        return SolveResult(status=NO_PLAN, objective=None, bound=None, gap=None,
                           seconds=seconds, solver="highs",
                           termination="killed past its time limit")
    kind, body = pickle.loads(payload)
    if kind == "error":
        raise SolverError(f"the guarded solve failed in its child process: {body}")
    result, values, row_duals, col_duals = body
    if values is not None:
        solver.values = values
    solver.row_duals, solver.col_duals = row_duals, col_duals
    return result


def _child(solver, time_limit: float, gap: float | None, read_fd: int, write_fd: int
           ) -> None:  # pragma: no cover - runs in the forked child
    """Solve and write the result to ``write_fd``; never returns. HiGHS's task scheduler
    is reset first: its worker threads were not forked, and a solve waiting on them hangs."""
    code = 1
    try:
        os.close(read_fd)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.write(write_fd, _HEADER.pack(resident_mb()))
        try:
            reset = getattr(highspy.Highs, "resetGlobalScheduler", None)
            if reset is not None:
                reset(False)
            res = solver.solve(time_limit=time_limit, gap=gap)
            values = np.asarray(solver.values) if res.has_solution else None
            body = pickle.dumps(("ok", (res, values, solver.row_duals, solver.col_duals)),
                                protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
            body = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
        data = _LENGTH.pack(len(body)) + body
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view):]
        code = 0
    finally:
        os._exit(code)


def _receive(fd: int, deadline: float) -> tuple[bytes | None, float | None]:
    """The child's result (None when it is not begun by ``deadline`` or the child died)
    and its resident size at the start (None when it died before saying)."""
    head = _read_exactly(fd, _HEADER.size, deadline)
    if head is None:
        return None, None
    start_mb = _HEADER.unpack(head)[0]
    length = _read_exactly(fd, _LENGTH.size, deadline)
    if length is None:
        return None, start_mb
    # once the result is on its way it is read whole (a write of a few MB)
    body = _read_exactly(fd, _LENGTH.unpack(length)[0], None)
    return body, start_mb


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes | None:
    """``size`` bytes from ``fd``; None at end of file or when ``deadline`` passes first."""
    chunks = bytearray()
    while len(chunks) < size:
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
        chunk = os.read(fd, min(size - len(chunks), 1 << 20))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _ended(status: int) -> str:
    """How a child ended, from its wait status."""
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.WEXITSTATUS(status)}"


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
