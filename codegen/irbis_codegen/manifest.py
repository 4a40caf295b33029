"""Reading and checking the manifest, so that every generator can trust its input.

A problem is reported as ManifestError naming the stage (and the param) at fault: the manifest comes
from Scala code, and the fix is there.
"""

import json
import keyword
from pathlib import Path
from typing import Any, Dict, List

from irbis_codegen.kinds import COMPLEX, KINDS

STAGE_TYPES = ("estimator", "model", "transformer")
# The declarative validators (irbis.core.Constraint) the wrappers enforce themselves; "jvm": ask the JVM.
VALIDATION_RULES = ("range", "oneOf", "nonEmpty", "each", "jvm")
# Top-level names of the hand-written package that a Scala package must not shadow.
RESERVED_AREAS = frozenset({"_runtime", "_ext", "_version", "jars", "models"})


class ManifestError(ValueError):
    pass


def load(path: Path) -> Dict[str, Any]:
    return parse(Path(path).read_text(encoding="utf-8"))


def parse(text: str) -> Dict[str, Any]:
    manifest = json.loads(text)
    validate(manifest)
    return manifest


def dumps(manifest: Dict[str, Any]) -> str:
    """The canonical text of a manifest: stable across runs, so that diffs show real changes."""
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def area(stage: Dict[str, Any]) -> str:
    """The package below `irbis.`: `irbis.stages` -> `stages`."""
    return stage["package"][len("irbis."):]


def stages(manifest: Dict[str, Any]) -> List[Dict[str, Any]]:
    return sorted(manifest["stages"], key=lambda s: s["className"])


def params(stage: Dict[str, Any]) -> List[Dict[str, Any]]:
    return sorted(stage["params"], key=lambda p: p["name"])


def _require(ok: bool, where: str, problem: str) -> None:
    if not ok:
        raise ManifestError(f"{where}: {problem}")


def validate(manifest: Dict[str, Any]) -> None:
    _require(isinstance(manifest, dict), "manifest", "expected a JSON object")
    for key in ("irbisVersion", "sparkVersion", "scalaVersion"):
        _require(isinstance(manifest.get(key), str), "manifest", f"'{key}' must be a string")
    _require(isinstance(manifest.get("stages"), list), "manifest", "'stages' must be a list")
    by_class = {}
    for stage in manifest["stages"]:
        _validate_stage(stage)
        _require(stage["className"] not in by_class, stage["className"], "listed twice")
        by_class[stage["className"]] = stage
    for stage in manifest["stages"]:
        model = stage.get("modelClassName")
        if model is not None:
            _require(by_class.get(model, {}).get("type") == "model", f"stage {stage['className']}",
                     f"its model {model} is not a model stage of the manifest")


def _validate_stage(stage: Dict[str, Any]) -> None:
    where = f"stage {stage.get('className')}"
    for key in ("className", "package", "name", "type", "doc"):
        _require(isinstance(stage.get(key), str), where, f"'{key}' must be a string")
    _require(stage["className"] == f"{stage['package']}.{stage['name']}", where,
             "className must be package + '.' + name")
    _require(stage["package"].startswith("irbis.") and all(
        part.isidentifier() and not keyword.iskeyword(part) for part in stage["package"].split(".")),
        where, "package must be a Python-importable subpackage of irbis")
    _require(area(stage).split(".")[0] not in RESERVED_AREAS, where,
             f"package {stage['package']} clashes with the hand-written irbis package")
    _require(stage["type"] in STAGE_TYPES, where, f"type must be one of {', '.join(STAGE_TYPES)}")
    has_model = isinstance(stage.get("modelClassName"), str)
    _require(has_model == (stage["type"] == "estimator"), where,
             "modelClassName is required for estimators and must be null otherwise")
    _require(isinstance(stage.get("params"), list), where, "'params' must be a list")
    names = set()
    for param in stage["params"]:
        _validate_param(where, param)
        _require(param["name"] not in names, where, f"param '{param['name']}' is listed twice")
        names.add(param["name"])


def _validate_param(stage_where: str, param: Dict[str, Any]) -> None:
    name = param.get("name")
    where = f"{stage_where}, param '{name}'"
    _require(isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name), where,
             "the name must be a Python identifier (it becomes a keyword argument)")
    _require(isinstance(param.get("doc"), str), where, "'doc' must be a string")
    kind = param.get("kind")
    _require(kind in KINDS, where, f"unknown kind '{kind}' (known kinds: {', '.join(KINDS)})")
    _require(param.get("complex") is (kind in COMPLEX), where,
             f"'complex' must be {str(kind in COMPLEX).lower()} for kind {kind}")
    _require(isinstance(param.get("hasDefault"), bool), where, "'hasDefault' must be a boolean")
    _require(param["hasDefault"] or param.get("default") is None, where, "a default without hasDefault")
    _require(not (param["hasDefault"] and kind in COMPLEX), where,
             f"a {kind} param cannot have a default")
    options = param.get("options")
    if options is not None:
        _require(kind == "string" and isinstance(options, list) and options
                 and all(isinstance(o, str) for o in options), where,
                 "'options' must be a non-empty list of strings on a string param")
        _require(not param["hasDefault"] or param["default"] in options, where,
                 f"default {param['default']!r} is not one of the options")
    if param.get("validation") is not None:
        _validate_rule(where, param["validation"])


def _validate_rule(where: str, rule: Any) -> None:
    _require(isinstance(rule, dict) and rule.get("rule") in VALIDATION_RULES, where,
             f"'validation' must be an object whose 'rule' is one of {', '.join(VALIDATION_RULES)}")
    if rule["rule"] == "jvm":
        return
    _require(isinstance(rule.get("expected"), str), where, "a validation rule needs its 'expected' text")
    if rule["rule"] == "range":
        bounds = [k for k in ("min", "max") if k in rule]
        _require(bounds and all(isinstance(rule[k], (int, float)) and not isinstance(rule[k], bool)
                                and isinstance(rule.get(k + "Inclusive"), bool) for k in bounds), where,
                 "a range needs a numeric 'min' or 'max', each with a boolean '...Inclusive'")
    elif rule["rule"] == "oneOf":
        _require(isinstance(rule.get("options"), list) and all(isinstance(o, str) for o in rule["options"]), where,
                 "a oneOf rule needs its 'options'")
    elif rule["rule"] == "each":
        _require(isinstance(rule.get("of"), dict) and rule["of"].get("rule") not in ("jvm", "each"), where,
                 "an each rule needs a declarative rule in 'of'")
        _validate_rule(where, rule["of"])
