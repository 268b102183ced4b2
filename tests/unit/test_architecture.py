"""The frame stays clean: no import cycles inside dmp/, table names only from the catalogue."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from dmp.tables import PERSON_TABLES, TABLES

ROOT = Path(__file__).parents[2]
_TABLE_NAME = re.compile(r"(bronze|silver|gold|ops)/[a-z_]+")


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_import_cycles", ROOT / "scripts" / "check_import_cycles.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_dmp_has_no_import_cycles() -> None:
    checker = _checker()
    assert checker.cycles(checker.module_graph(ROOT / "dmp")) == []


def test_the_cycle_check_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    # stage -> gate lazily inside a function, gate -> stage only for type checking
    (package / "sub" / "stage.py").write_text("def run():\n    from pkg.sub.gate import g\n")
    (package / "sub" / "gate.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub.stage import run\n"
    )
    (package / "leaf.py").write_text("from . import sub\nfrom .sub import stage\n")
    checker = _checker()
    graph = checker.module_graph(package)
    assert graph["pkg.leaf"] == {"pkg.sub", "pkg.sub.stage"}
    assert checker.cycles(graph) == [["pkg.sub.gate", "pkg.sub.stage"]]
    assert checker.main([str(package)]) == 1


def test_table_names_are_written_only_in_the_catalogue() -> None:
    found = []
    for path in sorted((ROOT / "dmp").rglob("*.py")):
        if path.name == "tables.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _TABLE_NAME.fullmatch(node.value)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value}")
    assert found == [], "import the name from dmp.tables instead"


def test_every_table_that_holds_people_is_one_erasure_cleans() -> None:
    from dmp.erasure.stage import _LINK_COLUMNS, _PERSON_TABLES

    assert set(_PERSON_TABLES) == {t.name for t in PERSON_TABLES}
    assert {
        "gold/funnel_segments",
        "gold/audiences",
        "gold/universe_scores",
        "silver/profiles",
    } <= set(_PERSON_TABLES)
    assert _LINK_COLUMNS["silver/profiles"] == ("referred_by",)
    for table in TABLES.values():
        assert table.name.startswith(f"{table.layer}/")
        assert not set(table.person_columns) & set(table.link_columns), table.name


FACADES = (
    "ingest", "identity", "profiles", "segments", "lookalike", "export", "lift", "erasure",
    "evaluation",
)  # fmt: skip


def test_each_stage_package_exports_its_api_and_loads_lazily() -> None:
    import importlib
    import subprocess

    for name in FACADES:
        package = importlib.import_module(f"dmp.{name}")
        assert package.__doc__ and f"{name} stage." not in package.__doc__
        assert package.__all__ == sorted(package.__all__)
        for exported in package.__all__:
            assert getattr(package, exported) is not None, (name, exported)
    imports = "; ".join(f"import dmp.{name}" for name in FACADES)
    probe = f"import sys; {imports}; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # importing a facade does not start Spark


def test_notebooks_use_only_the_public_api() -> None:
    import json

    allowed = {f"dmp.{name}" for name in FACADES} | {
        "dmp.config", "dmp.driver", "dmp.lake", "dmp.tables", "dmp.demo", "dmp.stages",
        "dmp.registry",
    }  # fmt: skip
    used = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            for match in re.finditer(r"^from (dmp[\w.]*) import (\([^)]*\)|[^\n]*)", source, re.M):
                used.add((path.name, match.group(1)))
                exec(match.group(0), {})  # every imported name exists
    assert {(nb, module) for nb, module in used if module not in allowed} == set()
