"""Renders one Python module per Scala package (one class per stage) plus irbis/_version.py."""

import ast
import base64
import functools
import math
from itertools import groupby
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Set

from irbis_codegen import manifest as mf
from irbis_codegen.kinds import KINDS
from irbis_codegen.templating import environment, pyrepr, write

_BASES = {"estimator": "JavaEstimator", "model": "JavaModel", "transformer": "JavaTransformer"}
# Spark's DoubleParam writes "Inf"; its vector JSON (Jackson) writes "Infinity".
_SPECIAL_DOUBLES = {"NaN": 'float("nan")', "Inf": 'float("inf")', "-Inf": 'float("-inf")',
                    "Infinity": 'float("inf")', "-Infinity": 'float("-inf")'}


def _float_literal(value: Any) -> str:
    if isinstance(value, str):
        return _SPECIAL_DOUBLES[value]
    value = float(value)
    if math.isnan(value):
        return _SPECIAL_DOUBLES["NaN"]
    if math.isinf(value):
        return _SPECIAL_DOUBLES["Inf" if value > 0 else "-Inf"]
    return repr(value)


def python_literal(kind: str, value: Any) -> str:
    """Python source for a default, from the JSON that the Param's own codec wrote."""
    if kind == "vector":
        values = python_literal("double[]", value["values"])
        if value["type"] == 1:
            return f"Vectors.dense({values})"
        return f"Vectors.sparse({int(value['size'])}, {python_literal('int[]', value['indices'])}, {values})"
    if kind.startswith("map<string,"):
        element = kind[len("map<string,"):-1]
        items = (f"{pyrepr(str(k))}: {python_literal(element, v)}" for k, v in sorted(value.items()))
        return "{" + ", ".join(items) + "}"
    if kind.endswith("[]"):
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {value!r}")
        return "[" + ", ".join(python_literal(kind[:-2], v) for v in value) + "]"
    if kind in ("float", "double"):
        return _float_literal(value)
    if kind in ("int", "long") and isinstance(value, int) and not isinstance(value, bool):
        return repr(value)
    if kind == "boolean" and isinstance(value, bool):
        return repr(value)
    if kind == "string" and isinstance(value, str):
        return pyrepr(value)
    if kind == "bytes":
        return repr(base64.b64decode(value, validate=True))
    raise TypeError(f"{value!r} is not a {kind}")


def python_hint(param: Dict[str, Any]) -> str:
    if param.get("options"):
        return "Literal[" + ", ".join(pyrepr(o) for o in param["options"]) + "]"
    return KINDS[param["kind"]].python_hint


def python_doc_type(param: Dict[str, Any]) -> str:
    if param.get("options"):
        return "{" + ", ".join(pyrepr(o) for o in param["options"]) + "}"
    return KINDS[param["kind"]].python_doc


@functools.lru_cache(maxsize=None)
def _pyspark_names() -> FrozenSet[str]:
    """Attributes of the pyspark bases of a generated class, which a param or its accessors must not shadow."""
    from pyspark.ml.util import JavaMLReadable, JavaMLWritable
    from pyspark.ml.wrapper import JavaEstimator, JavaModel

    instance = {"uid", "setParams", "_java_obj", "_input_kwargs", "_irbis_kinds"}  # set per instance or generated
    return frozenset(instance.union(*(dir(c) for c in (JavaEstimator, JavaModel, JavaMLReadable, JavaMLWritable))))


def _param_view(stage: Dict[str, Any], param: Dict[str, Any]) -> Dict[str, Any]:
    name = param["name"]
    suffix = name[0].upper() + name[1:]
    clashes = sorted({name, "set" + suffix, "get" + suffix} & _pyspark_names())
    if clashes:
        raise mf.ManifestError(f"stage {stage['className']}, param '{name}': {', '.join(clashes)} would shadow "
                               "pyspark's own attribute; rename the param")
    default = None
    if param["hasDefault"]:
        try:
            default = python_literal(param["kind"], param["default"])
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise mf.ManifestError(
                f"stage {stage['className']}, param '{param['name']}': default "
                f"{param['default']!r} is not a valid {param['kind']} ({e})") from e
    info = KINDS[param["kind"]]
    # An enumerated param's hint is a Literal of its options instead of its kind's hint.
    imports = {("typing", "Literal")} if param.get("options") else set(info.hint_imports)
    if default is not None:
        imports |= info.default_imports
    return {
        "name": name,
        "suffix": suffix,
        "imports": imports,
        "kind": param["kind"],
        "doc": param["doc"],
        "hint": python_hint(param),
        "doc_type": python_doc_type(param),
        "default": default,
        "validation": repr(param["validation"]) if param.get("validation") is not None else None,
    }


def extension_path(ext_dir: Path, area: str) -> Path:
    return Path(ext_dir, *area.split(".")).with_suffix(".py")


def extension_classes(ext_dir: Optional[Path], area: str) -> Set[str]:
    """Names of the `<Stage>Ext` classes in python/irbis/_ext/<area>.py, read without importing it."""
    path = extension_path(ext_dir, area) if ext_dir is not None else None
    if path is None or not path.is_file():
        return set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef) and node.name.endswith("Ext")}


def extension_helpers(ext_dir: Optional[Path], area: str) -> List[str]:
    """Module-level names that python/irbis/_ext/<area>.py lists in its `__all__` (a literal list of strings):
    the generated module re-exports them beside its stages (e.g. ``irbis.image.toNDArray``)."""
    path = extension_path(ext_dir, area) if ext_dir is not None else None
    if path is None or not path.is_file():
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []


def _isort_key(name: str) -> Any:
    # ruff's isort (order-by-type): CONSTANTS, then Classes, then functions and variables
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def _stage_view(stage: Dict[str, Any], by_class: Dict[str, Dict[str, Any]], ext: Set[str]) -> Dict[str, Any]:
    model = None
    if stage.get("modelClassName"):
        target = by_class[stage["modelClassName"]]
        model = {"name": target["name"], "module": target["package"],
                 "local": target["package"] == stage["package"]}
    fitted_by = sorted(s["className"] for s in by_class.values() if s.get("modelClassName") == stage["className"])
    return {
        "name": stage["name"],
        "className": stage["className"],
        "area": mf.area(stage),
        "type": stage["type"],
        "base": _BASES[stage["type"]],
        "doc": stage["doc"],
        "ext": stage["name"] + "Ext" if stage["name"] + "Ext" in ext else None,
        "model": model,
        "fitted_by": fitted_by,
        "params": [_param_view(stage, p) for p in mf.params(stage)],
    }


def _imports(views: List[Dict[str, Any]], helpers: List[str]) -> List[str]:
    """Exactly the imports a module uses, so that the generated code is lint-clean: what the kinds of its params
    name (kinds.KINDS), what every wrapper uses, and what estimators and models use."""
    params = [p for s in views for p in s["params"]]
    kind_names: Dict[str, Set[str]] = {}
    for module, name in set().union(*(p["imports"] for p in params)):
        kind_names.setdefault(module, set()).add(name)
    typing = {"Dict"} | kind_names.pop("typing", set())
    if params or any(s["type"] == "model" for s in views):
        typing.add("Optional")
    java_object = any(s["type"] in ("estimator", "model") for s in views)
    if java_object:
        typing.add("TYPE_CHECKING")
    pyspark = [("pyspark", {"keyword_only"} if any(s["type"] != "model" for s in views) else set()),
               ("pyspark.ml.linalg", set()),
               ("pyspark.ml.param", {"Param", "Params"} if params else set()),
               ("pyspark.ml.util", {"JavaMLReadable", "JavaMLWritable"}),
               ("pyspark.ml.wrapper", {s["base"] for s in views})]
    pyspark = [(module, names | kind_names.pop(module, set())) for module, names in pyspark]
    if kind_names:
        raise mf.ManifestError(f"kinds.KINDS names imports from {sorted(kind_names)}, which python_gen does not place")
    lines = [f"from typing import {', '.join(sorted(typing, key=lambda n: (n != 'TYPE_CHECKING', n)))}", ""]
    lines += [f"from {module} import {', '.join(sorted(names))}" for module, names in pyspark if names]
    exts = sorted([s["ext"] for s in views if s["ext"]] + helpers, key=_isort_key)
    if exts:
        line = f"from irbis._ext.{views[0]['area']} import {', '.join(exts)}"
        # as the import sorter (ruff's isort) wraps a line longer than 120 columns
        lines += ["", line] if len(line) <= 120 else \
            ["", f"from irbis._ext.{views[0]['area']} import ("] + [f"    {e}," for e in exts] + [")"]
    lines += [None if exts else "", "from irbis._runtime import kinds as _kinds" if params else None,
              "from irbis._runtime.wrapper import IrbisWrapper"]
    if java_object:
        lines += ["", "if TYPE_CHECKING:", "    from py4j.java_gateway import JavaObject"]
    return [line for line in lines if line is not None]


def render(manifest: Dict[str, Any], out_dir: Path, ext_dir: Optional[Path]) -> List[Path]:
    """Writes `<out_dir>/irbis/...`; returns the written files."""
    env = environment("python")
    by_class = {s["className"]: s for s in manifest["stages"]}
    versions = {k: manifest[k] for k in ("irbisVersion", "sparkVersion", "scalaVersion")}
    written = [write(out_dir / "irbis" / "_version.py", env.get_template("_version.py.j2").render(**versions))]
    for package, group in groupby(mf.stages(manifest), key=lambda s: s["package"]):
        group = list(group)
        area = mf.area(group[0])
        ext = extension_classes(ext_dir, area)
        orphans = sorted(ext - {s["name"] + "Ext" for s in group})
        if orphans:
            raise mf.ManifestError(
                f"{extension_path(ext_dir, area)} defines {', '.join(orphans)} but {package} has no stage "
                "of that name (an Ext class is named <StageName>Ext)")
        views = [_stage_view(s, by_class, ext) for s in group]
        helpers = extension_helpers(ext_dir, area)
        text = env.get_template("module.py.j2").render(
            package=package, area=area, stages=views, version=manifest["irbisVersion"], helpers=helpers,
            imports=_imports(views, helpers))
        written.append(write(out_dir / "irbis" / Path(*area.split(".")) / "__init__.py", text))
    return written
