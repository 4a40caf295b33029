"""The closed list of Param kinds and how each reads in every language: the one table the generators use.

A kind missing from this table is a generation error, never a silent `object`. The places that cannot import it
hold the same list and are checked against it by tests/python/core/test_kind_tables.py, which fails on any drift:
`irbis.core.ParamKind` (Scala, which writes the kinds into the manifest), `python/irbis/_runtime/kinds.py` (the
wheel's converters; the wheel does not ship the generator) and the hand-written R converters in
`R/R/irbis-params.R`. Adding a kind: a row here, then the test names each place still to change.
"""

from typing import Dict, FrozenSet, NamedTuple, Tuple

Import = Tuple[str, str]  # (module, name), as in `from module import name`


class KindInfo(NamedTuple):
    python_hint: str  # type hint in generated signatures
    python_doc: str  # type as numpydoc shows it
    scala: str  # type of the Scala setter's argument
    hint_imports: FrozenSet[Import] = frozenset()  # what the hint names
    default_imports: FrozenSet[Import] = frozenset()  # what a default's Python literal names
    complex: bool = False  # moved between languages as a raw value, saved beside the JSON metadata


_SCALARS = {
    "boolean": ("bool", "bool", "Boolean"),
    "int": ("int", "int", "Int"),
    "long": ("int", "int", "Long"),
    "float": ("float", "float", "Float"),
    "double": ("float", "float", "Double"),
    "string": ("str", "str", "String"),
}
_LIST = frozenset({("typing", "List")})
_DICT = frozenset({("typing", "Dict")})


def _table() -> Dict[str, KindInfo]:
    table = {}
    for kind, (hint, doc, scala) in _SCALARS.items():
        table[kind] = KindInfo(hint, doc, scala)
        table[kind + "[]"] = KindInfo(f"List[{hint}]", f"list of {doc}", f"Array[{scala}]", _LIST)
    table["double[][]"] = KindInfo("List[List[float]]", "list of list of float", "Array[Array[Double]]", _LIST)
    for value in ("string", "int", "double"):
        hint, doc, scala = _SCALARS[value]
        table[f"map<string,{value}>"] = KindInfo(
            f"Dict[str, {hint}]", f"dict of str to {doc}", f"Map[String, {scala}]", _DICT)
    table["vector"] = KindInfo("Vector", "pyspark.ml.linalg.Vector", "Vector",
                               frozenset({("pyspark.ml.linalg", "Vector")}),
                               frozenset({("pyspark.ml.linalg", "Vectors")}))
    table["bytes"] = KindInfo("bytes", "bytes", "Array[Byte]", complex=True)
    params = frozenset({("pyspark.ml.param", "Params")})
    table["stage"] = KindInfo("Params", "pyspark.ml stage", "PipelineStage", params, complex=True)
    table["stage[]"] = KindInfo("List[Params]", "list of pyspark.ml stages", "Array[PipelineStage]", _LIST | params,
                                complex=True)
    return table


KINDS: Dict[str, KindInfo] = _table()

COMPLEX = frozenset(kind for kind, info in KINDS.items() if info.complex)
