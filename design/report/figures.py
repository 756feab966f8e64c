"""Figures of a results folder: the front with certified intervals, capacities along the
front, cost breakdown and energy figures of the picks, storage levels over the year."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from design.report.picks import marginal_costs  # noqa: E402
from design.report.tables import with_unit  # noqa: E402


def cost_items(columns, kinds: dict[str, str] | None = None) -> list[str]:
    """The ``cost.`` columns in reading order: capex per component (in the case's order
    when ``kinds`` lists the components), then the operation items."""
    items = [c for c in columns if c.startswith("cost.")]
    order = {f"cost.capex.{name}": i for i, name in enumerate(kinds or {})}
    return sorted(items, key=lambda c: (not c.startswith("cost.capex."),
                                        order.get(c, len(order)), items.index(c)))


#: marker and colour of each pick in every figure
PICK_STYLE = {"cost-weighted": ("s", "tab:blue"), "balanced": ("D", "tab:green"),
              "autonomy-weighted": ("^", "tab:purple")}


def _front_limits(front: pd.DataFrame, column: str, slack: np.ndarray | None = None
                  ) -> tuple[float, float]:
    """Axis limits that frame the front (with its certified bars) and a margin."""
    v = front[column].to_numpy(dtype=float)
    lo = float(np.min(v - (slack if slack is not None else 0.0)))
    hi = float(v.max())
    pad = 0.06 * (hi - lo) if hi > lo else max(1.0, 0.05 * abs(hi))
    return lo - pad, hi + pad


def draw_pareto(evals: pd.DataFrame, front: pd.DataFrame, picks: pd.DataFrame | None,
                path: Path) -> None:
    """The front in focus (zoomed to it, certified bars), other evaluations faint, the
    picks as distinct markers named in the legend; a count of evaluations outside the
    frame. W and gap per point are in pareto.csv, not on the figure (they overlap)."""
    ok = evals[evals["ok"]] if "ok" in evals else evals
    fig, ax = plt.subplots(figsize=(7.5, 5))
    if len(front):
        front = front.sort_values("annual_total_cost")
        slack = certified_slack(front)
        xlim = _front_limits(front, "annual_total_cost", slack)
        ylim = _front_limits(front, "autonomy", slack)
        inside = ok[ok["annual_total_cost"].between(*xlim) & ok["autonomy"].between(*ylim)]
        ax.scatter(inside["annual_total_cost"], inside["autonomy"], s=10, alpha=0.2,
                   color="grey", label=f"other evaluations ({len(ok) - len(inside)} more "
                   "outside this frame)" if len(ok) > len(inside) else "other evaluations")
        ax.plot(front["annual_total_cost"], front["autonomy"], "-", color="tab:red", lw=1)
        ax.errorbar(front["annual_total_cost"], front["autonomy"],
                    xerr=[slack, np.zeros(len(front))], yerr=[slack, np.zeros(len(front))],
                    fmt="o", ms=4, color="tab:red", ecolor="tab:red", elinewidth=0.8,
                    capsize=2, label="Pareto front (bars: certified gap, EUR/a)")
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
    else:
        ax.scatter(ok["annual_total_cost"], ok["autonomy"], s=10, alpha=0.3, color="grey",
                   label="evaluations")
    for _, p in (picks.iterrows() if picks is not None else []):
        marker, colour = PICK_STYLE.get(p["pick"], ("*", "black"))
        ax.scatter([p["annual_total_cost"]], [p["autonomy"]], s=110, marker=marker,
                   facecolor="none", edgecolor=colour, linewidths=2, zorder=4,
                   label=f"{p['pick']}: {p['annual_total_cost']:,.0f} EUR/a, "
                         f"A {p['autonomy']:,.0f} EUR/a")
    ax.set_xlabel("annual total cost [EUR/a]")
    ax.set_ylabel("autonomy A [EUR/a] (lower = more autonomous)")
    ax.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(alpha=0.3)
    _save(fig, path)


def draw_marginal(front: pd.DataFrame, limit: float | None, path: Path,
                  picks: pd.DataFrame | None = None) -> bool:
    """Marginal cost of autonomy between front neighbours against autonomy A (log scale),
    with the limit that chose the autonomy-weighted pick and the picks marked. False when
    there is nothing to draw."""
    col = "marginal_cost_of_autonomy"
    front = front.sort_values("annual_total_cost")
    if col not in front and len(front) > 1:  # folders written before the column existed
        front = front.assign(**{col: marginal_costs(
            front[["annual_total_cost", "autonomy"]].to_numpy(dtype=float))})
    shown = front[front[col] > 0] if col in front else front.iloc[:0]
    if not len(shown):
        return False
    fig, ax = plt.subplots(figsize=(7.5, 4))
    ax.plot(shown["autonomy"], shown[col], "o-", ms=3, lw=0.8, color="tab:red",
            label="each front design, from its cheaper neighbour")
    if limit is not None:
        ax.axhline(limit, color="tab:purple", ls="--", lw=1,
                   label=f"limit for the autonomy-weighted pick ({limit:g})")
    for _, p in (picks.iterrows() if picks is not None else []):
        marker, colour = PICK_STYLE.get(p["pick"], ("*", "black"))
        ax.axvline(p["autonomy"], color=colour, lw=0.8, ls=":", label=p["pick"])
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel("autonomy A of the design [EUR/a] (more autonomous to the right)")
    ax.set_ylabel("EUR/a of cost per EUR/a of A")
    ax.set_title("marginal cost of autonomy along the front", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    _save(fig, path)
    return True


def draw_capacities(front: pd.DataFrame, kinds: dict[str, str], path: Path,
                    picks: pd.DataFrame | None = None) -> bool:
    """How each capacity (and W) changes along the front, one panel per component, the
    front ordered by annual total cost, the picks marked. False for an empty front."""
    comps = [c for c in kinds if c in front]
    if not len(front) or not comps:
        return False
    front = front.sort_values("annual_total_cost")
    cols = [*comps, "W"]
    fig, axes = plt.subplots(len(cols), 1, figsize=(7.5, 1.5 * len(cols) + 1.0),
                             sharex=True, squeeze=False)
    x = front["annual_total_cost"]
    for ax, c in zip(axes[:, 0], cols, strict=True):
        ax.plot(x, front[c], "o-", ms=3, lw=0.8, color="tab:red")
        for _, p in (picks.iterrows() if picks is not None else []):
            marker, colour = PICK_STYLE.get(p["pick"], ("*", "black"))
            ax.scatter([p["annual_total_cost"]], [p[c]], s=70, marker=marker,
                       facecolor="none", edgecolor=colour, linewidths=1.8, zorder=4,
                       label=p["pick"])
        ax.set_ylabel(with_unit(c, kinds), fontsize=7, rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    if picks is not None and len(picks):
        axes[0, 0].legend(fontsize=7, ncol=3, loc="lower left", bbox_to_anchor=(0, 1.02))
    axes[-1, 0].xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    axes[-1, 0].set_xlabel("annual total cost of the front design [EUR/a] (cheapest left, "
                           "most autonomous right)")
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
                       ("pv_self_consumption", "PV self-consumption (of available PV)"),
                       ("pv_curtailment", "PV curtailed (of available PV)")):
        if col in front:
            a1.plot(x, 100 * front[col].astype(float), "o-", ms=3, label=label)
    a1.set_ylabel("%")
    a1.legend(fontsize=7)
    a1.grid(alpha=0.3)
    for col, label in (("grid_import_kwh", "grid import"), ("grid_export_kwh", "grid export"),
                       ("pv_curtailed_kwh", "PV curtailed"),
                       ("backup_heat_kwh", "backup heat")):
        if col in front:
            a2.plot(x, front[col].astype(float) / 1000.0, "o-", ms=3, label=label)
    a2.set_ylabel("MWh/a")
    a2.set_xlabel("annual total cost of the front design [EUR/a]")
    a2.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    a2.legend(fontsize=7)
    a2.grid(alpha=0.3)
    fig.suptitle("energy along the Pareto front", fontsize=9)
    _save(fig, path)
    return True


def certified_slack(front: pd.DataFrame) -> np.ndarray:
    """Per front point, how much its weighted operation objective could still improve
    (upper minus lower bound, scaled to a year): no plan of that design at that W beats
    the point by more than this on the weighted sum of C_op and A. Folders written before
    the bounds were annual (no ``scale_to_year`` column) held per-horizon bounds."""
    if "upper_bound" not in front or "lower_bound" not in front:
        return np.zeros(len(front))
    raw = (front["upper_bound"] - front["lower_bound"]).clip(lower=0).fillna(0.0)
    if "scale_to_year" in front:
        return raw.to_numpy(dtype=float)
    hours = front["hours"].fillna(8760.0) if "hours" in front else 8760.0
    return (raw * 8760.0 / hours).to_numpy(dtype=float)


def _save(fig, path: Path, dpi: int = 120) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


#: unit of a storage level by component kind (a hot-water tank's level is heat)
LEVEL_UNITS = {"battery": "kWh", "mh_tank": "Nm3", "hot_water_tank": "kWh"}
#: horizons of at least this many hours are drawn as daily min/max bands
BAND_HOURS = 24 * 14


def draw_levels(levels: pd.DataFrame, path: Path, title: str,
                kinds: dict[str, str] | None = None,
                limits: dict[str, tuple[float, float]] | None = None,
                start: str = "2010-01-01 00:00") -> None:
    """Storage levels over the horizon, one panel per storage, with units, real dates
    (hour 0 of the index = the case's ``start``) and, given ``limits``, the usable range.
    Long horizons are drawn as each day's range (min to max) and mean, which a year of
    hourly points would smear into a solid band."""
    kinds = kinds or {}
    cols = list(levels.columns)
    when = pd.Timestamp(start) + pd.to_timedelta(np.asarray(levels.index, dtype=float),
                                                 unit="h")
    frame = levels.set_axis(when)
    daily = len(levels) >= BAND_HOURS
    fig, axes = plt.subplots(len(cols), 1, figsize=(10, 2.2 * max(1, len(cols))),
                             sharex=True, squeeze=False)
    for ax, col in zip(axes[:, 0], cols, strict=True):
        comp = col.removesuffix(".level")
        unit = LEVEL_UNITS.get(kinds.get(comp, ""), "")
        if daily:
            day = frame[col].resample("D")
            lo, hi, mean = day.min(), day.max(), day.mean()
            ax.fill_between(lo.index, lo, hi, step="post", alpha=0.35, lw=0,
                            label="daily min to max")
            ax.plot(mean.index, mean, lw=0.8, drawstyle="steps-post", label="daily mean")
        else:
            ax.plot(frame.index, frame[col], lw=0.8, label="hourly level")
        if limits and col in limits:
            lo_lim, hi_lim = limits[col]
            ax.axhline(hi_lim, color="grey", ls="--", lw=0.8, label="upper limit (capacity)")
            ax.axhline(lo_lim, color="grey", ls=":", lw=0.8, label="lower limit")
        ax.legend(fontsize=7, loc="upper right", ncol=2)
        ax.set_ylabel(f"{comp} [{unit}]" if unit else comp, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(f"date (local time; from {pd.Timestamp(start):%Y-%m-%d %H:%M})")
    fig.autofmt_xdate()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
