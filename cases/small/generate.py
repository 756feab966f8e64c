"""Regenerate the small test case's series: four April days cut from the reference series.

Run: ``python cases/small/generate.py`` (after ``cases/reference/generate.py``).
"""

from pathlib import Path

import pandas as pd

FIRST_HOUR = 24 * 104  # 15 April: PV surplus by day, space heat at night
HOURS = 96


def main() -> None:
    """Write series.csv next to this file."""
    ref = pd.read_csv(Path(__file__).parents[1] / "reference" / "series.csv")
    cut = ref.iloc[FIRST_HOUR : FIRST_HOUR + HOURS].reset_index(drop=True)
    cut["hour"] = range(HOURS)
    out = Path(__file__).with_name("series.csv")
    cut.to_csv(out, index=False)
    print(f"wrote {out} ({len(cut)} rows)")


if __name__ == "__main__":
    main()
