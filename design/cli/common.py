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


CASE_HELP = "built-in case name (reference, small) or path of a case YAML file"
HORIZON_HELP = "solve only the first HOURS of the case's series (default: all of them)"
SOLVER_HELP = ("MILP solver: auto = Gurobi where its licence takes the model, HiGHS "
               "otherwise; the solver used is reported")
OUT_HELP = "output folder (default: results/<command>-<case>)"
WORKERS_HELP = "parallel Ray workers (default: every CPU of the machine or cluster)"
EXECUTOR_HELP = "ray: candidates in parallel (local or --address); serial: one by one"
ADDRESS_HELP = "address of a running Ray cluster to join (default: start a local one)"
