"""Columns (one interval's schedule: cost, boundary states, binaries) and the column pool."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Column:
    """A solution of one interval: its true cost, entry/exit state values and binaries."""

    k: int
    cost: float
    entry: np.ndarray
    exit: np.ndarray
    binaries: np.ndarray
    origin: str = "pricing"

    def __post_init__(self) -> None:
        # single precision: integers exact up to 2**24, an LP column's fractions to 1e-7;
        # a pool of LP columns takes half the memory
        object.__setattr__(self, "binaries", np.asarray(self.binaries, dtype=np.float32))

    @property
    def key(self) -> str:
        """Identity for duplicate detection (rounded states, binaries and cost)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(np.int64(self.k).tobytes())
        h.update(np.round(self.entry, 6).tobytes())
        h.update(np.round(self.exit, 6).tobytes())
        h.update(np.round(self.binaries).astype(np.int8).tobytes())
        h.update(np.round([self.cost], 6).tobytes())
        return h.hexdigest()


@dataclass
class ColumnPool:
    """All columns generated so far, per interval, without duplicates."""

    n: int
    columns: list[list[Column]] = field(default_factory=list)
    _keys: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.columns:
            self.columns = [[] for _ in range(self.n)]

    def add(self, col: Column) -> bool:
        """Add a column; False if an identical one is already in the pool."""
        key = col.key
        if key in self._keys:
            return False
        self._keys.add(key)
        self.columns[col.k].append(col)
        return True

    def discard(self, columns: list[Column]) -> None:
        """Forget ``columns`` (pruned from a master): an identical one may come back."""
        gone: dict[int, set[int]] = {}
        for col in columns:
            self._keys.discard(col.key)
            gone.setdefault(col.k, set()).add(id(col))
        for k, ids in gone.items():
            self.columns[k] = [c for c in self.columns[k] if id(c) not in ids]

    def keys(self) -> frozenset[str]:
        """The keys of the columns in the pool now."""
        return frozenset(self._keys)

    def __len__(self) -> int:
        return len(self._keys)
