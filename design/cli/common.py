"""Helpers shared by the ``lcen`` sub-commands."""

from __future__ import annotations

import argparse

from design.network.case import CaseError


def design_overrides(items: list[str]) -> dict[str, float]:
    """``COMPONENT=SIZE`` pairs of ``--design`` as a dict; a bad pair is a CaseError."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise CaseError(f"--design {item!r}: expected COMPONENT=SIZE")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise CaseError(f"--design {item!r}: size {value!r} is not a number") from None
    return out


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help with every option's default, unless its text already names it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


CASE_HELP = ("built-in case (reference, small, or district-N: N homes with their own fuel "
             "cell, heat pump and tank around a shared hub, e.g. district-10) or the path "
             "of a case YAML file")
HORIZON_HELP = "solve only the first HOURS of the case's series (default: all of them)"
SOLVER_HELP = ("MILP solver: auto = Gurobi where its licence takes the model, HiGHS "
               "otherwise; the solver used is reported")
OUT_HELP = "output folder (default: results/<command>-<case>)"
WORKERS_HELP = "parallel Ray workers (default: every CPU of the machine or cluster)"
EXECUTOR_HELP = "ray: candidates in parallel (local or --address); serial: one by one"
ADDRESS_HELP = "address of a running Ray cluster to join (default: start a local one)"


class RunProgress:
    """Progress lines of a long run: each prefixed with the time elapsed (and left of a
    budget), and a line after every ``quiet`` seconds without one, so a run shows it is
    alive even where its steps take minutes (e.g. when the output goes to a file)."""

    def __init__(self, budget: float | None = None, spent: float = 0.0,
                 quiet: float = 60.0) -> None:
        import threading
        import time

        self._time = time.monotonic
        self.t0, self.budget, self.spent, self.quiet = self._time(), budget, spent, quiet
        self.last, self.said = self.t0, ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def stamp(self) -> str:
        """``[12:34]`` or ``[12:34, 5:26 left]`` (minutes:seconds)."""
        elapsed = self._time() - self.t0 + self.spent

        def mmss(x: float) -> str:
            return f"{int(x // 60)}:{int(x % 60):02d}"

        if self.budget is None:
            return f"[{mmss(elapsed)}]"
        return f"[{mmss(elapsed)}, {mmss(max(0.0, self.budget - elapsed))} left]"

    def __call__(self, message: str) -> None:
        self.last, self.said = self._time(), message
        print(f"  {self.stamp()} {message}", flush=True)

    def _beat(self) -> None:
        while not self._stop.wait(5.0):
            if self._time() - self.last >= self.quiet:
                self.last = self._time()
                after = self.said if len(self.said) <= 70 else self.said[:67] + "..."
                print(f"  {self.stamp()} still working" + (f" (after: {after})" if after
                                                          else ""), flush=True)

    def close(self) -> None:
        """Stop the heartbeat."""
        self._stop.set()
