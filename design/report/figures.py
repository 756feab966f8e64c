"""Figures of a results folder: the front with certified intervals, capacities along the
front, cost breakdown and energy figures of the picks, storage levels over the year."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from design.report.tables import with_unit  # noqa: E402


def cost_items(columns, kinds: dict[str, str] | None = None) -> list[str]:
    """The ``cost.`` columns in reading order: capex per component (in the case's order
    when ``kinds`` lists the components), then the operation items."""
    items = [c for c in columns if c.startswith("cost.")]
    order = {f"cost.capex.{name}": i for i, name in enumerate(kinds or {})}
    return sorted(items, key=lambda c: (not c.startswith("cost.capex."),
                                        order.get(c, len(order)), items.index(c)))


def draw_pareto(evals: pd.DataFrame, front: pd.DataFrame, picks: pd.DataFrame | None,
                path: Path) -> None:
    """Every evaluation in grey, the front with W, gap and certified interval per point."""
    ok = evals[evals["ok"]]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(ok["annual_total_cost"], ok["autonomy"], s=14, alpha=0.25, color="grey",
               label="all evaluations")
    if len(front):
        front = front.sort_values("annual_total_cost")
        ax.plot(front["annual_total_cost"], front["autonomy"], "-", color="tab:red", lw=1)
        slack = certified_slack(front)
        ax.errorbar(front["annual_total_cost"], front["autonomy"],
                    xerr=[slack, np.zeros(len(front))], yerr=[slack, np.zeros(len(front))],
                    fmt="o", color="tab:red", ecolor="tab:red", elinewidth=0.8, capsize=2,
                    label="Pareto front (bars: certified gap, EUR/a)")
        for _, r in front.iterrows():
            gap = "" if pd.isna(r.get("gap")) else f", {r['gap']:.1%}"
            ax.annotate(f"W={r['W']:.2f}{gap}", (r["annual_total_cost"], r["autonomy"]),
                        textcoords="offset points", xytext=(5, -9), fontsize=6,
                        color="tab:red")
    if picks is not None:
        for _, p in picks.iterrows():
            ax.annotate(p["pick"], (p["annual_total_cost"], p["autonomy"]),
                        textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set_xlabel("annual total cost [EUR/a]")
    ax.set_ylabel("autonomy A [EUR/a] (lower = more autonomous)")
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, path)


def draw_capacities(front: pd.DataFrame, kinds: dict[str, str], path: Path) -> bool:
    """How each capacity (and W) changes along the front, one panel per component, the
    front ordered by annual total cost. False (nothing drawn) for an empty front."""
    comps = [c for c in kinds if c in front]
    if not len(front) or not comps:
        return False
    front = front.sort_values("annual_total_cost")
    cols = [*comps, "W"]
    fig, axes = plt.subplots(len(cols), 1, figsize=(7, 1.5 * len(cols) + 0.8), sharex=True,
                             squeeze=False)
    x = front["annual_total_cost"]
    for ax, c in zip(axes[:, 0], cols, strict=True):
        ax.plot(x, front[c], "o-", ms=3, lw=0.8)
        ax.set_ylabel(with_unit(c, kinds), fontsize=7, rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("annual total cost of the front design [EUR/a]")
    fig.suptitle("capacities along the Pareto front (cheapest left, most autonomous right)",
                 fontsize=9)
    _save(fig, path)
    return True


def draw_costs(picks: pd.DataFrame, path: Path, kinds: dict[str, str] | None = None) -> bool:
    """Stacked cost breakdown per pick (EUR/a): capex per component, purchases, backup
    fuel, start-ups above zero, sales revenue below. False when the picks carry none."""
    items = cost_items(picks.columns, kinds) if picks is not None else []
    if not items:
        return False
    data = picks.set_index("pick")[items].fillna(0.0)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    pos = np.zeros(len(data))
    neg = np.zeros(len(data))
    colours = plt.get_cmap("tab20")
    for i, item in enumerate(items):
        v = data[item].to_numpy(dtype=float)
        bottom = np.where(v >= 0, pos, neg)
        ax.bar(data.index, v, bottom=bottom, label=item.removeprefix("cost."),
               color=colours(i % 20))
        pos, neg = pos + np.clip(v, 0, None), neg + np.clip(v, None, 0)
    ax.scatter(data.index, data.sum(axis=1), color="black", zorder=3, marker="_", s=400,
               label="annual total cost")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel("EUR/a")
    ax.set_title("cost breakdown of the picks")
    ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3, axis="y")
    _save(fig, path)
    return True


def draw_energy(front: pd.DataFrame, path: Path) -> bool:
    """Self-sufficiency and PV self-consumption (%), grid import and export (MWh/a)
    along the front. False when the front carries no energy figures."""
    if not len(front) or "grid_import_kwh" not in front:
        return False
    front = front.sort_values("annual_total_cost")
    x = front["annual_total_cost"]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    for col, label in (("self_sufficiency", "self-sufficiency"),
                       ("pv_self_consumption", "PV self-consumption")):
        if col in front:
            a1.plot(x, 100 * front[col].astype(float), "o-", ms=3, label=label)
    a1.set_ylabel("%")
    a1.legend(fontsize=7)
    a1.grid(alpha=0.3)
    for col, label in (("grid_import_kwh", "grid import"), ("grid_export_kwh", "grid export"),
                       ("backup_heat_kwh", "backup heat")):
        if col in front:
            a2.plot(x, front[col].astype(float) / 1000.0, "o-", ms=3, label=label)
    a2.set_ylabel("MWh/a")
    a2.set_xlabel("annual total cost of the front design [EUR/a]")
    a2.legend(fontsize=7)
    a2.grid(alpha=0.3)
    fig.suptitle("energy along the Pareto front", fontsize=9)
    _save(fig, path)
    return True


def certified_slack(front: pd.DataFrame) -> np.ndarray:
    """Per front point, how much its weighted operation objective could still improve
    (upper minus lower bound, scaled to a year): no plan of that design at that W beats
    the point by more than this on the weighted sum of C_op and A."""
    if "upper_bound" not in front or "lower_bound" not in front:
        return np.zeros(len(front))
    raw = (front["upper_bound"] - front["lower_bound"]).clip(lower=0).fillna(0.0)
    hours = front["hours"].fillna(8760.0) if "hours" in front else 8760.0
    return (raw * 8760.0 / hours).to_numpy(dtype=float)


def _save(fig, path: Path, dpi: int = 120) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


#: unit of a storage level by component kind (a hot-water tank's level is heat)
LEVEL_UNITS = {"battery": "kWh", "mh_tank": "Nm3", "hot_water_tank": "kWh"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def draw_levels(levels: pd.DataFrame, path: Path, title: str,
                kinds: dict[str, str] | None = None,
                limits: dict[str, tuple[float, float]] | None = None) -> None:
    """Storage levels over the horizon, one panel per storage, with units, months on the
    time axis (from the hour of the year) and, given ``limits``, the usable range."""
    kinds = kinds or {}
    cols = list(levels.columns)
    fig, axes = plt.subplots(len(cols), 1, figsize=(10, 2.2 * max(1, len(cols))),
                             sharex=True, squeeze=False)
    for ax, col in zip(axes[:, 0], cols, strict=True):
        comp = col.removesuffix(".level")
        unit = LEVEL_UNITS.get(kinds.get(comp, ""), "")
        ax.plot(levels.index, levels[col], lw=0.6)
        if limits and col in limits:
            lo, hi = limits[col]
            ax.axhline(hi, color="grey", ls="--", lw=0.8, label="upper limit (capacity)")
            ax.axhline(lo, color="grey", ls=":", lw=0.8, label="lower limit")
            ax.legend(fontsize=7, loc="upper right")
        ax.set_ylabel(f"{comp} [{unit}]" if unit else comp, fontsize=8)
        ax.grid(alpha=0.3)
    hours = np.asarray(levels.index, dtype=float)
    if len(hours) and hours.max() - hours.min() >= 24 * 60:
        starts = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30]) * 24
        keep = (starts >= hours.min()) & (starts <= hours.max())
        axes[-1, 0].set_xticks(starts[keep], [m for m, k in zip(MONTHS, keep, strict=True)
                                              if k])
        axes[-1, 0].set_xlabel("month")
    else:
        axes[-1, 0].set_xlabel("hour of the year")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


