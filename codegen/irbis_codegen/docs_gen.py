"""Renders docs/api.md: every stage with its Scala, Python and R signatures and its params."""

import functools
import importlib.util
import json
import re
from itertools import groupby
from pathlib import Path
from typing import Any, Dict, List, Optional

from irbis_codegen import manifest as mf
from irbis_codegen.kinds import KINDS
from irbis_codegen.python_gen import python_hint
from irbis_codegen.templating import environment, write

_SCALA_BASES = {"estimator": "Estimator[{model}]", "model": "Model[{name}]", "transformer": "Transformer"}


@functools.lru_cache(maxsize=None)
def r_gen_module() -> Optional[Any]:
    """The R generator when it is there: the R names in the docs are the ones it generates."""
    if importlib.util.find_spec("irbis_codegen.r_gen") is None:
        return None
    from irbis_codegen import r_gen

    return r_gen


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def r_function_name(stage: Dict[str, Any]) -> str:
    r_gen = r_gen_module()
    if r_gen is not None:
        return r_gen.r_function_name(stage)
    return ("ml_" if stage["type"] == "estimator" else "ft_") + _snake_case(stage["name"])


def r_argument_name(param: Dict[str, Any]) -> str:
    r_gen = r_gen_module()
    return (r_gen.snake_case if r_gen is not None else _snake_case)(param["name"])


def _r_formal(stage: Dict[str, Any], param: Dict[str, Any]) -> str:
    r_gen = r_gen_module()
    if r_gen is None or not hasattr(r_gen, "r_default"):
        return r_argument_name(param)
    return f"{r_argument_name(param)} = {r_gen.r_default(stage, param)}"


def _r_formals(stage: Dict[str, Any], params: List[Dict[str, Any]]) -> List[str]:
    """The R function's formals in the R generator's order (sparklyr's: x, columns, the rest, uid)."""
    r_gen = r_gen_module()
    if r_gen is not None and hasattr(r_gen, "r_formals"):
        return r_gen.r_formals(stage)
    return ["x"] + [_r_formal(stage, p) for p in params] + ["uid = NULL", "..."]


def _call(function: str, arguments: List[str], width: int = 100) -> str:
    """A signature on one line if it fits, else one argument per line."""
    one_line = f"{function}({', '.join(arguments)})"
    if len(one_line) <= width:
        return one_line
    return function + "(\n    " + ",\n    ".join(arguments) + "\n)"  # no trailing comma: R rejects it


def _cell(text: str) -> str:
    """Markdown table cells hold one line and no bare pipes."""
    return " ".join(text.split()).replace("|", "\\|")


def _stage_view(stage: Dict[str, Any], by_class: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    model = by_class[stage["modelClassName"]] if stage.get("modelClassName") else None
    params = mf.params(stage)
    return {
        "name": stage["name"],
        "className": stage["className"],
        "type": stage["type"],
        "doc": stage["doc"],
        "model": model,
        "fitted_by": sorted(s["className"] for s in by_class.values()
                            if s.get("modelClassName") == stage["className"]),
        "scala_base": _SCALA_BASES[stage["type"]].format(name=stage["name"], model=model and model["name"]),
        "r_function": r_function_name(stage),
        "python_args": ["*"] * bool(params) + [f"{p['name']}: Optional[{python_hint(p)}] = None" for p in params],
        "r_formals": _r_formals(stage, params),
        "params": [{
            "name": p["name"],
            "suffix": p["name"][0].upper() + p["name"][1:],
            "scala": KINDS[p["kind"]].scala,
            "python": python_hint(p),
            "r": r_argument_name(p),
            "default": json.dumps(p["default"], ensure_ascii=False, sort_keys=True) if p["hasDefault"] else "",
            "doc": _cell(p["doc"]),
        } for p in params],
    }


def render(manifest: Dict[str, Any], out_dir: Path) -> List[Path]:
    env = environment("docs")
    env.filters["cell"] = _cell
    env.globals["call"] = _call
    by_class = {s["className"]: s for s in manifest["stages"]}
    packages = [(package, [_stage_view(s, by_class) for s in group])
                for package, group in groupby(mf.stages(manifest), key=lambda s: s["package"])]
    text = env.get_template("api.md.j2").render(manifest=manifest, packages=packages)
    return [write(out_dir / "api.md", text)]
