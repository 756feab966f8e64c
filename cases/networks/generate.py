"""Write a network case (a district of N homes) for another climate region and demand.

The homes and hub are laid out as ``district-N`` (each home with its own fuel cell, heat
pump and hot-water tank; PV, battery and hydrogen at a hub). Weather: a DWD test
reference year 2010 region shipped with demandlib; demand: VDI 4655 profiles for that
region's climate, with the annual totals of ``cases/reference/generate.py`` times
``--demand-factor``; tariffs as the reference case's. No value is invented: the data come
from demandlib's files, the assumptions (tariffs, costs) from the reference case.

Run: ``python cases/networks/generate.py --homes 6 --region 1 --out cases/networks/coast-6``
(writes ``case.yaml`` and ``series.csv``), then ``lcen operate cases/networks/coast-6/case.yaml``.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from design.network.builtin import BUILTIN, district_spec
from design.network.case import load_case

#: DWD TRY 2010 regions: representative station, latitude, longitude, altitude [m]
STATIONS = {
    1: ("Bremerhaven", 53.533, 8.576, 7), 4: ("Potsdam", 52.383, 13.067, 81),
    11: ("Fichtelberg", 50.428, 12.954, 1213), 12: ("Mannheim", 49.509, 8.554, 96),
}


def _reference_generator():
    path = Path(__file__).resolve().parents[1] / "reference" / "generate.py"
    spec = importlib.util.spec_from_file_location("reference_generate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_case(homes: int, region: int, demand_factor: float, out: Path) -> Path:
    """Write ``case.yaml`` and ``series.csv`` of the network into ``out``."""
    if region not in STATIONS:
        raise SystemExit(f"--region {region}: one of {sorted(STATIONS)} (stations known)")
    gen = _reference_generator()
    scaled = [(n, t, p, w, q * demand_factor, h * demand_factor, e * demand_factor)
              for n, t, p, w, q, h, e in gen.DWELLINGS]
    gen.DWELLINGS = scaled
    series = pd.concat([gen.read_try_weather(region), gen.vdi_profiles(region),
                        gen.tariffs()], axis=1)
    series["zero"] = 0.0
    series.insert(0, "hour", np.arange(len(series)))
    base = load_case(BUILTIN["reference"]).spec.model_dump(mode="json")
    station, lat, lon, alt = STATIONS[region]
    base["location"] |= {"latitude": lat, "longitude": lon, "altitude": alt}
    base["weather"]["source"] = (f"DWD test reference year 2010, region {region}, station "
                                 f"{station} (file TRY2010_{region:02d}_Jahr.dat shipped "
                                 "with demandlib); ghi = B + D")
    base["sources"]["demand"] = (f"VDI 4655 profiles via demandlib (TRY 2010 region "
                                 f"{region}); the reference dwellings' annual totals x "
                                 f"{demand_factor:g}")
    spec = district_spec(homes, series, base, [d[0] for d in scaled])
    spec |= {"name": out.name, "series": "series.csv", "hours": len(series),
             "description": f"{homes} homes in TRY 2010 region {region} ({station}), "
                            f"demand x {demand_factor:g}; own fuel cell, heat pump and "
                            "tank per home, shared PV, battery and hydrogen at a hub"}
    out.mkdir(parents=True, exist_ok=True)
    series.round(5).to_csv(out / "series.csv", index=False)
    path = out / "case.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    load_case(path)  # the case is valid as written
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--homes", type=int, default=6)
    p.add_argument("--region", type=int, default=1, help=f"TRY region: {sorted(STATIONS)}")
    p.add_argument("--demand-factor", type=float, default=1.0)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    path = write_case(args.homes, args.region, args.demand_factor, Path(args.out))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
