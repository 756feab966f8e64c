"""Regenerate the reference case's hourly series from data shipped with demandlib.

Weather: DWD test reference year 2010, region 4 (station Potsdam), as shipped in
``demandlib/vdi/resources_weather``: air temperature (t), direct and diffuse horizontal
irradiance (B, D). Demand: VDI 4655 typical-day profiles from demandlib for ten dwellings
(six single-family houses, one multi-family house with four flats), driven by the same
weather. Tariffs: a time-of-use purchase price and a flat sale price (assumptions, stated
in ``reference.yaml``).

Run: ``python cases/reference/generate.py`` (writes ``series.csv`` next to this file).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

TRY_REGION = 4
YEAR = 2010

# name, house type, persons, flats, annual space heat, hot water, electricity [kWh]
DWELLINGS = [
    ("efh1", "EFH", 2, 1, 6000.0, 1000.0, 2800.0),
    ("efh2", "EFH", 3, 1, 7000.0, 1500.0, 3600.0),
    ("efh3", "EFH", 4, 1, 8000.0, 2000.0, 4400.0),
    ("efh4", "EFH", 4, 1, 5500.0, 2000.0, 4200.0),
    ("efh5", "EFH", 2, 1, 9000.0, 1000.0, 3000.0),
    ("efh6", "EFH", 1, 1, 4500.0, 600.0, 1800.0),
    ("mfh1", "MFH", 8, 4, 16000.0, 4800.0, 9600.0),
]


def read_try_weather(region: int = TRY_REGION) -> pd.DataFrame:
    """Hourly temperature and horizontal irradiance from a DWD TRY 2010 file."""
    from design.network.weather import try_year

    return try_year(region).frame


def vdi_profiles(region: int = TRY_REGION, year: int = YEAR) -> pd.DataFrame:
    """VDI 4655 hourly electricity, space-heat and hot-water demand per dwelling [kWh/h]."""
    from demandlib import vdi

    houses = [
        {"name": n, "house_type": t, "N_Pers": p, "N_WE": w, "Q_Heiz_a": q, "Q_TWW_a": h,
         "W_a": e, "summer_temperature_limit": 15, "winter_temperature_limit": 5}
        for n, t, p, w, q, h, e in DWELLINGS
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        climate = vdi.Climate().from_try_data(region)
        region_obj = vdi.Region(year, climate=climate, houses=houses, resample_rule="1h")
        curves = region_obj.get_load_curve_houses()
    out = {}
    for name, *_ in DWELLINGS:
        block = curves[name]
        block = block.droplevel(0, axis=1)
        out[f"el_{name}"] = block["W_TT"].to_numpy()
        out[f"sh_{name}"] = block["Q_Heiz_TT"].to_numpy()
        out[f"dhw_{name}"] = block["Q_TWW_TT"].to_numpy()
    return pd.DataFrame(out)


def tariffs(year: int = YEAR) -> pd.DataFrame:
    """Time-of-use purchase price and flat sale price [EUR/kWh] (assumptions)."""
    idx = pd.date_range(f"{year}-01-01 00:00", periods=8760, freq="h")
    hour = idx.hour.to_numpy()
    weekend = idx.day_of_week.to_numpy() >= 5
    buy = np.full(8760, 0.30)
    buy[(hour >= 7) & (hour < 11) & ~weekend] = 0.38
    buy[(hour >= 17) & (hour < 21) & ~weekend] = 0.42
    buy[(hour >= 22) | (hour < 6)] = 0.24
    sell = np.full(8760, 0.08)
    return pd.DataFrame({"price_buy": buy, "price_sell": sell})


def main() -> None:
    """Write series.csv: weather, per-dwelling demand and tariffs, 8760 rows."""
    df = pd.concat([read_try_weather(), vdi_profiles(), tariffs()], axis=1)
    df.insert(0, "hour", np.arange(len(df)))
    out = Path(__file__).with_name("series.csv")
    df.round(5).to_csv(out, index=False)
    print(f"wrote {out} ({len(df)} rows, {df.shape[1]} columns)")


if __name__ == "__main__":
    main()
