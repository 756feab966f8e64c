"""The command line a new user meets: help with defaults for every option, a documented
case template that validates as written."""

from __future__ import annotations

import argparse
import re

import pytest
from pydantic import BaseModel

from cases import CASES_DIR
from design.cli.commands import build_parser, main
from design.network import case as case_module
from design.network.case import load_case


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_option_of_every_command_has_help():
    missing = [f"{' '.join(path)} {a.option_strings or a.dest}"
               for path, parser in _parsers(build_parser()) for a in parser._actions
               if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
               and not a.help]
    assert missing == []


@pytest.mark.parametrize("command", [["design"], ["report"], ["case", "template"],
                                     ["bench", "front"], ["operate"]])
def test_help_shows_defaults(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*command, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "usage: lcen" in text
    if command[0] in ("design", "bench", "operate"):
        assert re.search(r"\(default:? ", text)
    if command == ["design"]:  # every built-in case, the network cases included
        flat = " ".join(text.split())
        assert all(name in flat for name in ("reference", "small", "district-N"))


def _field_names(model: type[BaseModel], seen: set) -> set[str]:
    names = set()
    if model in seen:
        return names
    seen.add(model)
    for name, info in model.model_fields.items():
        names.add(name)
        for arg in [info.annotation, *getattr(info.annotation, "__args__", ())]:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                names |= _field_names(arg, seen)
    return names


def test_template_documents_every_field_and_validates(tmp_path, capsys):
    text = (CASES_DIR / "template" / "case.yaml").read_text()
    models = [m for m in vars(case_module).values()
              if isinstance(m, type) and issubclass(m, BaseModel) and m is not BaseModel]
    fields = set().union(*(_field_names(m, set()) for m in models))
    undocumented = sorted(f for f in fields if not re.search(rf"\b{f}:", text))
    assert undocumented == []
    assert main(["case", "template", str(tmp_path / "new")]) == 0
    case = load_case(tmp_path / "new" / "case.yaml")
    assert case.hours == 96 and len(case.spec.components) == 8
    assert main(["case", "template", str(tmp_path / "new")]) == 1
    assert "exist already" in capsys.readouterr().err


def _imports(path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package, forbidden", [
    ("decomp", ("design",)),
    ("design/network", ("design.search", "design.report", "design.study", "design.cli",
                        "design.bench", "design.scenarios")),
    ("design/search", ("design.study", "design.cli", "design.bench", "design.scenarios")),
    ("design/report", ("design.study", "design.cli", "design.bench", "design.scenarios")),
    ("design/study", ("design.cli", "design.bench")),
    ("design/scenarios", ("design.cli", "design.bench", "design.study")),
    ("design/bench", ("design.cli",)),
])
def test_imports_run_one_way(package, forbidden):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    bad = [f"{p.relative_to(root)} imports {m}" for p in (root / package).rglob("*.py")
           for m in _imports(p) if m.startswith(forbidden)]
    assert bad == []
