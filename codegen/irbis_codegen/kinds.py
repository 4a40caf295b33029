"""The closed list of Param kinds (mirrors irbis.core.ParamKind) and how each reads in every language.

Adding a kind means adding a row here, in irbis.core.ParamKind and in python/irbis/_runtime/kinds.py;
a kind missing from this table is a generation error, never a silent `object`.
"""

from typing import Dict, NamedTuple


class KindInfo(NamedTuple):
    python_hint: str  # type hint in generated signatures
    python_doc: str  # type as numpydoc shows it
    scala: str  # type of the Scala setter's argument


_SCALARS = {
    "boolean": ("bool", "bool", "Boolean"),
    "int": ("int", "int", "Int"),
    "long": ("int", "int", "Long"),
    "float": ("float", "float", "Float"),
    "double": ("float", "float", "Double"),
    "string": ("str", "str", "String"),
}


def _table() -> Dict[str, KindInfo]:
    table = {}
    for kind, (hint, doc, scala) in _SCALARS.items():
        table[kind] = KindInfo(hint, doc, scala)
        table[kind + "[]"] = KindInfo(f"List[{hint}]", f"list of {doc}", f"Array[{scala}]")
    table["double[][]"] = KindInfo("List[List[float]]", "list of list of float", "Array[Array[Double]]")
    for value in ("string", "int", "double"):
        hint, doc, scala = _SCALARS[value]
        table[f"map<string,{value}>"] = KindInfo(
            f"Dict[str, {hint}]", f"dict of str to {doc}", f"Map[String, {scala}]")
    table["vector"] = KindInfo("Vector", "pyspark.ml.linalg.Vector", "Vector")
    table["bytes"] = KindInfo("bytes", "bytes", "Array[Byte]")
    table["stage"] = KindInfo("Params", "pyspark.ml stage", "PipelineStage")
    table["stage[]"] = KindInfo("List[Params]", "list of pyspark.ml stages", "Array[PipelineStage]")
    return table


KINDS: Dict[str, KindInfo] = _table()

COMPLEX = frozenset({"bytes", "stage", "stage[]"})
