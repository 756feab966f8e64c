"""DWD test reference years (TRY 2010, average years of 15 German climate regions) as
shipped with demandlib: hourly air temperature and horizontal irradiance, with the
station's name and position from the file's header. The built-in cases are generated
from them, and scenario sets swap a case's weather for another region's."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

TRY_REGIONS = range(1, 16)
"""The climate regions of the TRY 2010 (1 Bremerhaven ... 15 Garmisch-Partenkirchen)."""

_POSITION = re.compile(r"(\d+)\D+?(\d+)'N.*?(\d+)\D+?(\d+)'O.*?(-?\d+)\s+Meter")


@dataclass(frozen=True)
class TryYear:
    """One region's test reference year: ``frame`` holds ``temp_air`` [degC], ``ghi`` =
    direct + diffuse horizontal and ``dhi`` [W/m2], 8760 hours from 1 January 00:00."""

    region: int
    station: str
    latitude: float
    longitude: float
    altitude: float
    frame: pd.DataFrame

    @property
    def source(self) -> str:
        """Where the data come from, for a case's ``weather.source``."""
        return (f"DWD test reference year 2010, region {self.region}, station {self.station} "
                f"(file TRY2010_{self.region:02d}_Jahr.dat shipped with demandlib); "
                "ghi = B + D")


def try_path(region: int) -> Path:
    """The TRY 2010 file of ``region`` in demandlib's package data."""
    if region not in TRY_REGIONS:
        raise ValueError(f"TRY region must be 1 to 15, not {region!r}")
    import demandlib.vdi

    return (Path(os.path.dirname(demandlib.vdi.__file__)) / "resources_weather"
            / f"TRY2010_{region:02d}_Jahr.dat")


def try_year(region: int) -> TryYear:
    """Read the TRY 2010 of ``region`` (station and position from its header)."""
    path = try_path(region)
    head = path.read_text(encoding="utf-8", errors="replace").splitlines()[:3]
    station = head[1].split(":", 1)[1].split("WMO")[0].strip()
    match = _POSITION.search(head[2])
    if match is None:
        raise ValueError(f"{path}: no station position in its third line {head[2]!r}")
    lat_d, lat_m, lon_d, lon_m, alt = (int(g) for g in match.groups())
    raw = pd.read_csv(path, sep=r"\s+", skiprows=38, header=None, engine="python")
    raw = raw.iloc[:, :19]
    raw.columns = ["RG", "IS", "MM", "DD", "HH", "N", "WR", "WG", "t", "p", "x", "RF", "W",
                   "B", "D", "IK", "A", "E", "IL"]
    if len(raw) != 8760:
        raise ValueError(f"{path}: expected 8760 hourly rows, found {len(raw)}")
    frame = pd.DataFrame({
        "temp_air": raw["t"].astype(float).to_numpy(),
        "ghi": (raw["B"] + raw["D"]).astype(float).to_numpy(),
        "dhi": raw["D"].astype(float).to_numpy(),
    })
    return TryYear(region, station, lat_d + lat_m / 60.0, lon_d + lon_m / 60.0, float(alt),
                   frame)
