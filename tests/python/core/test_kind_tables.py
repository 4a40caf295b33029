"""One table of Param kinds: codegen/irbis_codegen/kinds.py. The places that cannot import it hold the same list;
this test reads each and fails, naming the place and the difference, when one drifts. No JVM."""

import importlib.util
import re
from typing import Set

import pytest

from irbis_codegen import kinds as table
from irbis_codegen import r_gen

from conftest import ROOT

KINDS = set(table.KINDS)


def _scala_seq(name: str) -> Set[str]:
    """The string literals of `val <name>: ... = Seq(...)` or `Set(...)` in irbis.core.ParamKind."""
    text = (ROOT / "core" / "src" / "main" / "scala" / "irbis" / "core" / "ParamKind.scala").read_text()
    m = re.search(rf"val {name}: \w+\[String\] = (?:Seq|Set)\(([^)]*)\)", text)
    assert m, f"ParamKind.scala: val {name} not found"
    return set(re.findall(r'"([^"]+)"', m.group(1)))


def _runtime_kinds():
    """python/irbis/_runtime/kinds.py, by file path (irbis/__init__.py needs the built jar)."""
    path = ROOT / "python" / "irbis" / "_runtime" / "kinds.py"
    spec = importlib.util.spec_from_file_location("_irbis_runtime_kinds_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _r_function(name: str) -> str:
    text = (ROOT / "R" / "R" / "irbis-params.R").read_text()
    m = re.search(rf"^{name} <- function\(.*?\n}}\n", text, re.S | re.M)
    assert m, f"R/R/irbis-params.R: {name} not found"
    return m.group(0)


def _diff(place: str, got: Set[str], want: Set[str]) -> str:
    return f"{place} drifted from codegen/irbis_codegen/kinds.py: missing {sorted(want - got)}, extra {sorted(got - want)}"


def test_scala_param_kind_lists_the_same_kinds():
    assert _scala_seq("All") == KINDS, _diff("irbis.core.ParamKind.All", _scala_seq("All"), KINDS)
    assert _scala_seq("Complex") == set(table.COMPLEX), _diff("irbis.core.ParamKind.Complex", _scala_seq("Complex"),
                                                              set(table.COMPLEX))


def test_python_runtime_lists_the_same_kinds():
    runtime = _runtime_kinds()
    assert set(runtime.KINDS) == KINDS, _diff("python/irbis/_runtime/kinds.py KINDS", set(runtime.KINDS), KINDS)
    assert runtime.COMPLEX == table.COMPLEX
    for kind in KINDS - table.COMPLEX:
        runtime.type_converter(kind)  # every non-complex kind has a converter


def test_r_converters_cover_the_same_kinds():
    json_switch = _r_function("irbis_param_json")
    labels = set(re.findall(r'^\s*"([^"]+)" =', json_switch, re.M))
    assert labels == KINDS - table.COMPLEX, _diff("irbis_param_json's switch in R/R/irbis-params.R", labels,
                                                  KINDS - table.COMPLEX)
    # irbis_param_raw tests for each complex kind but the last, `stage`, its fallback.
    raw = set(re.findall(r'identical\(kind, "([^"]+)"\)', _r_function("irbis_param_raw"))) | {"stage"}
    assert raw == set(table.COMPLEX), _diff("irbis_param_raw in R/R/irbis-params.R", raw, set(table.COMPLEX))


def test_generators_take_the_kinds_from_the_table():
    assert r_gen.KINDS is table.KINDS
    from irbis_codegen import manifest, python_gen

    assert manifest.KINDS is table.KINDS and python_gen.KINDS is table.KINDS


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_imports_what_its_hint_names(kind):
    info = table.KINDS[kind]
    assert {name for _, name in info.hint_imports} == set(re.findall(r"[A-Z]\w*", info.python_hint))
