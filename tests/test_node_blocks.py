"""Blocks that are not time intervals: the one loop on nodes linked by a shared line.

Each node (a building) has its own demand, a unit with an on/off binary and a grid
import; the line's capacity in each hour is shared by every node's import. The nodes are
blocks, the capacity rows a :class:`~decomp.coupling.Coupling`; the restricted master,
the stabilisation, the pricing and the stopping rules are the time decomposition's.
The Lagrangian bound must lie below the network's optimum and, once the master has
converged, at or above its LP relaxation (the Dantzig-Wolfe bound)."""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decomp.columns import ColumnPool
from decomp.coupling import Coupling, CouplingRow
from decomp.loop import Clock, Converged, Log, Phase, Pricing, Run, run_phase
from decomp.master import RestrictedMaster
from decomp.pricing import IntervalSolver, SerialPricer
from decomp.provider import IntervalModel
from decomp.solvers import PersistentSolver, SolveOptions
from decomp.stabilisation import make_stabilisation

EXACT = SolveOptions(solver="highs", gap=1e-9)
BACKUP = 20.0  # EUR per unit of demand left unserved


def node(demand: np.ndarray, price: np.ndarray, pmax: float, fixed: float, variable: float,
         relax: bool = False) -> IntervalModel:
    """One building: import + unit + backup >= demand, the unit between 30 % and 100 % of
    ``pmax`` while on."""
    hours = range(len(demand))
    m = pyo.ConcreteModel()
    m.imp = pyo.Var(hours, bounds=(0, None))
    m.out = pyo.Var(hours, bounds=(0, pmax))
    m.backup = pyo.Var(hours, bounds=(0, None))
    m.on = pyo.Var(hours, bounds=(0, 1), domain=pyo.Reals if relax else pyo.Binary)
    m.balance = pyo.Constraint(hours, rule=lambda m, t: m.imp[t] + m.out[t] + m.backup[t]
                               >= float(demand[t]))
    m.upper = pyo.Constraint(hours, rule=lambda m, t: m.out[t] <= pmax * m.on[t])
    m.lower = pyo.Constraint(hours, rule=lambda m, t: m.out[t] >= 0.3 * pmax * m.on[t])
    cost = sum(float(price[t]) * m.imp[t] + fixed * m.on[t] + variable * m.out[t]
               + BACKUP * m.backup[t] for t in hours)
    return IntervalModel(0, len(demand), m, cost, entry={},
                         exit={f"import[{t}]": m.imp[t] for t in hours},
                         binaries={t: [m.on[t]] for t in hours})


def network(demands, price, units, capacity, relax: bool = False) -> tuple[list, pyo.Model]:
    """The nodes, and the whole network as one model (for the direct solve)."""
    blocks = [node(d, price, *u, relax=relax) for d, u in zip(demands, units, strict=True)]
    whole = pyo.ConcreteModel()
    for k, b in enumerate(blocks):
        whole.add_component(f"node_{k}", b.model)
    hours = range(len(price))
    whole.line = pyo.Constraint(hours, rule=lambda m, t: sum(b.exit[f"import[{t}]"]
                                                              for b in blocks) <= capacity[t])
    whole.objective = pyo.Objective(expr=sum(b.cost for b in blocks), sense=pyo.minimize)
    return blocks, whole


def coupling(n: int, capacity: np.ndarray) -> Coupling:
    """The line's rows: ``-sum_k import_k[t] >= -capacity[t]``."""
    names = [f"import[{t}]" for t in range(len(capacity))]
    rows = [CouplingRow(f"line[{t}]", tuple((k, names[t], -1.0) for k in range(n)),
                        -float(capacity[t])) for t in range(len(capacity))]
    return Coupling([names] * n, rows)


def solve_by_nodes(blocks: list[IntervalModel], link: Coupling, rounds: int = 300):
    """The one loop on the nodes: its run, phase and why it stopped."""
    solvers = [IntervalSolver(k, b, EXACT) for k, b in enumerate(blocks)]
    n = len(solvers)
    width = 10.0 * BACKUP
    master = RestrictedMaster(n, link, width)
    stab = make_stabilisation("wentges", np.zeros(link.size), 0.5, width)
    t0 = time.perf_counter()
    run = Run(link, n, Log(t0), lambda m: None)
    phase = Phase("nodes", master, ColumnPool(n), stab, Pricing(SerialPricer(solvers), 1e-9),
                  Clock(t0, None), stop=[Converged(1e-7)], max_rounds=rounds,
                  admit="improving")
    return run, phase, run_phase(run, phase, np.zeros(link.size))


def draw_network(n: int, hours: int, data) -> tuple:
    """Demands, price, units and line capacities of a random line network."""
    demand = st.lists(st.floats(0.0, 6.0), min_size=hours, max_size=hours)
    demands = [np.array(data.draw(demand)) for _ in range(n)]
    price = np.array(data.draw(st.lists(st.floats(0.5, 8.0), min_size=hours, max_size=hours)))
    units = [(data.draw(st.floats(1.0, 6.0)), data.draw(st.floats(0.0, 5.0)),
              data.draw(st.floats(0.5, 6.0))) for _ in range(n)]
    capacity = np.array(data.draw(st.lists(st.floats(0.0, 8.0), min_size=hours,
                                           max_size=hours)))
    return demands, price, units, capacity


@settings(max_examples=12, deadline=None)
@given(n=st.integers(2, 3), hours=st.integers(2, 5), data=st.data())
def test_node_blocks_bound_the_network_optimum(n, hours, data):
    demands, price, units, capacity = draw_network(n, hours, data)
    blocks, whole = network(demands, price, units, capacity)
    optimum = PersistentSolver(whole, EXACT).solve().objective
    _, relaxed = network(demands, price, units, capacity, relax=True)
    lp = PersistentSolver(relaxed, EXACT).solve().objective
    run, phase, reason = solve_by_nodes(blocks, coupling(n, capacity))
    tol = 1e-6 * max(1.0, abs(optimum))
    assert run.best <= optimum + tol
    # every round's Lagrangian is a bound; the master never falls below the best one
    for row in run.log.rows:
        if row["lagrangian"] is not None:
            assert row["lagrangian"] <= optimum + tol
    assert reason == "converged"
    assert phase.last_sol.objective >= run.best - tol
    # converged: the Dantzig-Wolfe bound, which the LP relaxation cannot beat
    assert run.best >= lp - 1e-5 * max(1.0, abs(lp))


def test_a_coupling_row_names_only_quantities_its_blocks_have():
    with pytest.raises(ValueError, match="no exit quantity 'export'"):
        Coupling([["import[0]"]], [CouplingRow("line", ((0, "export", 1.0),), 0.0)])
    with pytest.raises(ValueError, match="sense must be"):
        Coupling([["a"]], [CouplingRow("line", ((0, "a", 1.0),), 0.0, "<=")])
    link = coupling(2, np.array([3.0, 1.0]))
    assert link.size == 2 and link.entry_names == [[], []]
    y = link.valid(np.array([-1.0, 2.0]))
    assert y.tolist() == [0.0, 2.0]  # a capacity's price is never negative
    _, p_exit = link.interval_prices(y, 1)
    assert p_exit.tolist() == [0.0, 2.0]  # import in the scarce hour costs its price
    assert link.constant(y) == pytest.approx(-2.0)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(2, 3), hours=st.integers(2, 5), data=st.data())
def test_solve_nodes_sandwiches_the_network_optimum(n, hours, data):
    """The node engine on the line network: its capacity rows are ``>=`` rows in which
    every node appears once, so the first node is re-solved with the others held (its
    import bounded by what the line has left)."""
    from decomp.nodes import NodeProblem, solve_nodes
    from decomp.settings import DWSettings

    demands, price, units, capacity = draw_network(n, hours, data)
    blocks, whole = network(demands, price, units, capacity)
    optimum = PersistentSolver(whole, EXACT).solve().objective
    fresh, _ = network(demands, price, units, capacity)
    link = coupling(n, capacity)
    r = solve_nodes(NodeProblem(fresh, link.rows, [f"node{k}" for k in range(n)]),
                    DWSettings(gap=1e-6, max_iterations=40, solve=EXACT))
    assert r.plan is not None and r.extra["repair_block"] == "node0"
    tol = 1e-6 * max(1.0, abs(optimum))
    assert r.bound <= optimum + tol <= r.objective + 2 * tol
