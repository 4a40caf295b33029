"""Renders the Irbis R package (sparklyr conventions) from the manifest.

The output is a source package: DESCRIPTION, NAMESPACE, one R file per Scala package (one function per
stage), Rd pages rendered directly (no roxygen run, so the output depends on nothing but the manifest),
the hand-written support (a folder laid out as the package: R/*.R, man/*.Rd; the repository's top-level R/
folder, which codegen/generate.py passes), and sparklyr's extension tables in
inst/sparkml/. inst/java/ is left for the build to put the jar into.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jinja2

from irbis_codegen import templating
from irbis_codegen.kinds import KINDS
from irbis_codegen.r_literals import RGenError, fail, r_default, r_literal, r_string

STAGE_TYPES = ("estimator", "model", "transformer")

# Names a param may not take as an R argument: R's reserved words and the arguments the functions add.
RESERVED_ARGS = frozenset([
    "if", "else", "repeat", "while", "function", "for", "next", "break", "in", "TRUE", "FALSE", "NULL",
    "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "x", "uid", "formula",
])

# Arguments in sparklyr's order: x, the input and output columns, then the label, features and prediction columns,
# then every other param by name, uid last.
LEADING_PARAMS = ("inputCol", "inputCols", "outputCol", "outputCols", "labelCol", "featuresCol", "predictionCol")

GENERATED_PARTS = ("DESCRIPTION", "NAMESPACE", "R", "man", "inst/sparkml")


# Names that are one word to their users, though their capitals would split them: LightGBM's R package and
# SynapseML's R functions write `lightgbm`, so `LightGBMClassifier` is `ml_lightgbm_classifier`.
WORDS = {"LightGBM": "Lightgbm", "xGBoost": "xgboost"}


def snake_case(name: str) -> str:
    for word, as_one in WORDS.items():
        name = name.replace(word, as_one)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def r_role(stage: dict) -> str:
    """What a stage is to a sparklyr user, from its params.

    'learner': an estimator with a label and input columns; it takes a formula, and on a tbl_spark returns an
    ml_model. 'tool': any other estimator that reads a label or a target (model selection, explainers); on a
    tbl_spark it returns an ml_model too. 'feature': any other estimator, a fitted feature transformation (as
    ft_string_indexer) that fits and transforms a tbl_spark. 'transformer': transformers and fitted models.
    """
    if stage.get("type") != "estimator":
        return "transformer"
    names = {p.get("name") for p in stage.get("params", [])}
    if {"labelCol", "inputCols"} <= names:
        return "learner"
    if names & {"labelCol", "targetCol"}:
        return "tool"
    return "feature"


def r_function_name(stage: dict) -> str:
    prefix = "ml_" if r_role(stage) in ("learner", "tool") else "ft_"
    return prefix + snake_case(stage["name"])


def r_param_order(params: list) -> list:
    """The params in argument order (LEADING_PARAMS first, then by name)."""
    def key(p):
        name = p["name"]
        return (LEADING_PARAMS.index(name) if name in LEADING_PARAMS else len(LEADING_PARAMS), name)
    return sorted(params, key=key)


def r_formals(stage: dict) -> list:
    """The function's formals as R source: x, formula (learners), the params with their defaults, uid, `...`."""
    params = r_param_order(stage.get("params", []))
    formula = ["formula = NULL"] if r_role(stage) == "learner" else []
    return ["x"] + formula + [f"{snake_case(p['name'])} = {r_default(stage, p)}" for p in params] + ["uid = NULL", "..."]


def r_class_tag(class_name: str) -> str:
    """sparklyr's class mapping value: the R class of the wrapper; its constructor is `new_<tag>`."""
    return "ml_" + snake_case(class_name.rsplit(".", 1)[-1])


def rd_escape(text: str) -> str:
    return re.sub(r"([\\%{}])", r"\\\1", text)


def rd_usage_escape(code: str) -> str:
    """Rd usage is R-like text: only backslashes and comment characters need escaping."""
    return code.replace("\\", "\\\\").replace("%", "\\%")


# ---- model of the package --------------------------------------------------------------------------------

def _param_view(stage: dict, param: dict) -> dict:
    kind = param.get("kind")
    if kind not in KINDS:
        raise fail(stage, param, f"unknown kind '{kind}' (known kinds: {', '.join(sorted(KINDS))})")
    arg = snake_case(param["name"])
    if arg in RESERVED_ARGS or not re.fullmatch(r"[a-z][a-z0-9_]*", arg):
        raise fail(stage, param, f"its R argument name '{arg}' is reserved or not a valid R name")
    options = param.get("options")
    return {
        "name": param["name"],
        "name_lit": r_string(param["name"]),
        "arg": arg,
        "kind": kind,
        "default": r_default(stage, param),
        "options_lit": "c(" + ", ".join(r_string(o) for o in options) + ")" if options else None,
        "validation_lit": r_literal(param["validation"]) if param.get("validation") is not None else None,
        "doc": param.get("doc") or "",
        "options": options or [],
    }


def _stage_view(stage: dict) -> dict:
    if stage.get("type") not in STAGE_TYPES:
        raise RGenError(f"stage {stage.get('className')}: unknown type '{stage.get('type')}'")
    params = [_param_view(stage, p) for p in r_param_order(stage.get("params", []))]
    args = [p["arg"] for p in params]
    duplicated = sorted({a for a in args if args.count(a) > 1})
    if duplicated:
        raise RGenError(f"stage {stage['className']}: params map to the same R argument(s) {duplicated}")
    role = r_role(stage)
    tag = r_class_tag(stage["className"])
    return {
        "fn": r_function_name(stage),
        "name": stage["name"],
        "class_name": stage["className"],
        "package": stage["package"],
        "type": stage["type"],
        "role": role,
        "doc": stage.get("doc") or "",
        "model_class_name": stage.get("modelClassName"),
        "tag": tag,
        "constructor": "new_" + tag,
        "wrapper": "new_ml_estimator" if stage["type"] == "estimator" else "new_ml_transformer",
        "params": params,
        "formals": r_formals(stage),
    }


def _package_view(manifest: dict) -> dict:
    stages = [_stage_view(s) for s in sorted(manifest.get("stages", []), key=lambda s: s["className"])]
    _check_unique(stages, "fn", "R function")
    known = {s["class_name"] for s in stages}
    # A fitted model that is not a stage of its own still needs a constructor for ml_fit() and ml_load().
    extra_models = sorted({s["model_class_name"] for s in stages
                           if s["model_class_name"] and s["model_class_name"] not in known})
    models = [{"class_name": c, "tag": r_class_tag(c), "constructor": "new_" + r_class_tag(c)}
              for c in extra_models]
    _check_unique(stages + models, "tag", "R class")
    by_package: dict[str, list] = {}
    for s in stages:
        by_package.setdefault(s["package"], []).append(s)
    for m in models:
        by_package.setdefault(m["class_name"].rsplit(".", 1)[0], [])
    return {
        "version": manifest["irbisVersion"],
        "spark_version": manifest.get("sparkVersion", ""),
        "scala_version": manifest.get("scalaVersion", ""),
        "stages": stages,
        "models": models,
        "packages": [
            {"name": pkg, "file": pkg.replace(".", "_") + ".R", "stages": by_package[pkg],
             "models": [m for m in models if m["class_name"].rsplit(".", 1)[0] == pkg]}
            for pkg in sorted(by_package)
        ],
    }


def _check_unique(items: list, key: str, what: str) -> None:
    seen: dict[str, str] = {}
    for item in items:
        if item[key] in seen:
            raise RGenError(f"{item['class_name']} and {seen[item[key]]} both map to the {what} '{item[key]}'")
        seen[item[key]] = item["class_name"]


# ---- rendering -------------------------------------------------------------------------------------------

def _environment() -> jinja2.Environment:
    env = templating.environment("r")
    env.filters["rd"] = rd_escape
    env.filters["rd_usage"] = rd_usage_escape
    env.filters["r_string"] = r_string
    return env


def render(manifest: dict, out_dir: Path, hand_written: Path) -> None:
    """Writes the source package into `out_dir`, with the hand-written files of the folder `hand_written`."""
    out_dir, hand_written = Path(out_dir), Path(hand_written)
    if not (hand_written / "R").is_dir():
        raise RGenError(f"{hand_written} has no R/ folder: pass the hand-written R's folder (the repository's R/)")
    view = _package_view(manifest)
    env = _environment()
    for part in GENERATED_PARTS:
        target = out_dir / part
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    _copy_hand_written(hand_written, out_dir)
    templating.write(out_dir / "DESCRIPTION", env.get_template("DESCRIPTION.j2").render(**view))
    templating.write(out_dir / "NAMESPACE",
                     env.get_template("NAMESPACE.j2").render(exports=hand_written_exports(hand_written),
                                                             s3methods=hand_written_s3methods(hand_written), **view))
    templating.write(out_dir / "R" / "irbis-version.R", env.get_template("version.R.j2").render(**view))
    package_template = env.get_template("package.R.j2")
    for pkg in view["packages"]:
        templating.write(out_dir / "R" / pkg["file"], package_template.render(package=pkg, **view))
    rd_template = env.get_template("stage.Rd.j2")
    for stage in view["stages"]:
        templating.write(out_dir / "man" / f"{stage['fn']}.Rd", rd_template.render(s=stage, **view))
    templating.write(out_dir / "inst" / "sparkml" / "class_mapping.json", _json(_class_mapping(view)))
    templating.write(out_dir / "inst" / "sparkml" / "param_mapping.json", _json(_param_mapping(view)))
    (out_dir / "inst" / "java").mkdir(parents=True, exist_ok=True)


def hand_written_exports(hand_written: Path) -> list:
    """Functions in the hand-written R/R/*.R marked `#' @export` on the line before their definition."""
    names = []
    for src in sorted((hand_written / "R").glob("*.R")):
        lines = src.read_text(encoding="utf-8").splitlines()
        for tag, definition in zip(lines, lines[1:]):
            m = re.match(r"^([A-Za-z][A-Za-z0-9._]*)\s*<-\s*function\b", definition)
            if tag.strip() == "#' @export" and m:
                names.append(m.group(1))
    return sorted(names)


def hand_written_s3methods(hand_written: Path) -> list:
    """(generic, class) of the methods in R/R/*.R marked `#' @exportS3Method <generic>` before their definition."""
    methods = []
    for src in sorted((hand_written / "R").glob("*.R")):
        lines = src.read_text(encoding="utf-8").splitlines()
        for tag, definition in zip(lines, lines[1:]):
            t = re.match(r"^#' @exportS3Method ([A-Za-z][A-Za-z0-9._]*)\s*$", tag.strip())
            m = re.match(r"^([A-Za-z][A-Za-z0-9._]*)\s*<-\s*function\b", definition)
            if t and m and m.group(1).startswith(t.group(1) + "."):
                methods.append((t.group(1), m.group(1)[len(t.group(1)) + 1:]))
    return sorted(methods)


def _copy_hand_written(hand_written: Path, out_dir: Path) -> None:
    for src in sorted(hand_written.rglob("*")):
        if src.is_file():
            dest = out_dir / src.relative_to(hand_written)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)


def _class_mapping(view: dict) -> dict:
    return {item["class_name"]: item["tag"] for item in view["stages"] + view["models"]}


def _param_mapping(view: dict) -> dict:
    """Scala param name -> R argument name, which sparklyr uses for ml_param() and printed param maps."""
    return {p["name"]: p["arg"] for s in view["stages"] for p in s["params"]}


def _json(data: dict) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
