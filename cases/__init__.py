"""Built-in case files and their data (YAML + hourly series)."""

from pathlib import Path

CASES_DIR = Path(__file__).resolve().parent

BUILTIN = {
    "reference": CASES_DIR / "reference" / "reference.yaml",
    "small": CASES_DIR / "small" / "small.yaml",
}
