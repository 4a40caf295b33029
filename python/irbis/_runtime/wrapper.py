"""The mixin of every generated stage class: Params move between Python and the JVM through
irbis.core.ParamsBridge, so each value goes through the Param's own JVM codec and validator instead of
py4j's guesses (which cannot build a Map[String, Double], a Float array or a nested stage)."""

import json
from typing import Any, Dict, Tuple

from pyspark.ml.param import Param, Params
from pyspark.ml.util import _jvm

from irbis._runtime import kinds, validation


def params_bridge() -> Any:
    return _jvm().irbis.core.ParamsBridge


def java_message(error: Exception) -> Tuple[str, str]:
    """(Java class name, message) of an exception that crossed py4j, raw or converted by pyspark."""
    java = getattr(error, "java_exception", None)
    if java is None:
        java = getattr(error, "_origin", None)
    if java is None:
        return "", str(error)
    return str(java.getClass().getName()), str(java.getMessage())


class IrbisWrapper:
    """Goes before pyspark's JavaParams subclasses in the bases so that its overrides win.

    `_irbis_kinds` (param name -> kind) comes from the generated subclass; a param that only the JVM
    knows (pyspark's `_create_params_from_java`) asks the JVM for its kind.
    """

    _irbis_kinds: Dict[str, str] = {}
    _irbis_validation: Dict[str, dict] = {}

    def _set(self, **kwargs: Any) -> "IrbisWrapper":
        """Every value is checked as it is set, by its Param's validator (see irbis._runtime.validation)."""
        for name, value in kwargs.items():
            if value is not None and name in self._irbis_validation:
                param = getattr(self, name)
                try:
                    value = param.typeConverter(value)
                except TypeError as e:
                    raise TypeError(f'Invalid param value given for param "{name}". {e}') from None
                self._irbis_check(name, value)
            super()._set(**{name: value})
        return self

    def _irbis_check(self, name: str, value: Any) -> None:
        rule = self._irbis_validation[name]
        kind = self._irbis_kind(name)
        if rule["rule"] == "jvm":
            self._irbis_check_on_jvm(name, kind, value)
        elif not validation.is_valid(rule, kind, value):
            stage = next(c.__name__ for c in type(self).__mro__ if "_irbis_validation" in c.__dict__)
            raise ValueError(validation.invalid_value(stage, name, kinds.to_json(kind, value), rule["expected"]))

    def _irbis_check_on_jvm(self, name: str, kind: str, value: Any) -> None:
        """A validator the manifest cannot describe: the JVM stage checks the value (nothing is set there)."""
        java_obj = getattr(self, "_java_obj", None)
        if java_obj is None:
            return
        try:
            if kind in kinds.COMPLEX:
                params_bridge().pairRaw(java_obj, name, kinds.to_java_raw(kind, value))
            else:
                params_bridge().pair(java_obj, name, kinds.to_json(kind, value))
        except Exception as e:  # Py4JJavaError, or pyspark's conversion of it
            java_class, message = java_message(e)
            if java_class != "java.lang.IllegalArgumentException":
                raise
            raise ValueError(message) from None

    def _irbis_kind(self, name: str) -> str:
        kind = self._irbis_kinds.get(name)
        return kind if kind is not None else str(params_bridge().kind(self._java_obj, name))

    def _make_java_param_pair(self, param: Param, value: Any) -> Any:
        param = self._resolveParam(param)
        if value is None:
            raise ValueError(f"{type(self).__name__}.{param.name} is set to None; clear() it instead")
        kind = self._irbis_kind(param.name)
        if kind in kinds.COMPLEX:
            return params_bridge().pairRaw(self._java_obj, param.name, kinds.to_java_raw(kind, value))
        return params_bridge().pair(self._java_obj, param.name, kinds.to_json(kind, value))

    def _irbis_read_java(self, name: str, java_obj: Any = None) -> Any:
        """The JVM value of a param (set, else default) as a Python value of its kind."""
        java_obj = self._java_obj if java_obj is None else java_obj
        kind = self._irbis_kind(name)
        if kind in kinds.COMPLEX:
            return kinds.from_java_raw(kind, params_bridge().getRaw(java_obj, name))
        text = params_bridge().getJson(java_obj, name)
        return None if text is None else kinds.from_json(kind, text)

    def _transfer_params_to_java(self) -> None:
        """What pyspark's transfer does (set values, then every default), with the simple Params in one JVM call
        (ParamsBridge.setAll, each value through its Param's codec and validator); complex ones (stages, bytes)
        move one by one as raw values."""
        values: Dict[str, str] = {}
        defaults: Dict[str, str] = {}
        raw_defaults = []
        for param in self.params:
            if self.isSet(param):
                value = self._paramMap[param]
                text = self._irbis_simple_json(param, value)
                if text is None:
                    self._java_obj.set(self._make_java_param_pair(param, value))
                else:
                    values[param.name] = text
            if self.hasDefault(param):
                value = self._defaultParamMap[param]
                text = self._irbis_simple_json(param, value)
                if text is None:
                    raw_defaults.append(self._make_java_param_pair(param, value))
                else:
                    defaults[param.name] = text
        params_bridge().setAll(self._java_obj, json.dumps(values), json.dumps(defaults))
        if raw_defaults:
            self._java_obj.setDefault(_jvm().PythonUtils.toSeq(raw_defaults))

    def _irbis_simple_json(self, param: Param, value: Any) -> Any:
        """The JSON text of a simple Param's value; None for a complex one (or a None value, which
        _make_java_param_pair refuses)."""
        kind = self._irbis_kind(param.name)
        return None if kind in kinds.COMPLEX or value is None else kinds.to_json(kind, value)

    def _transfer_params_from_java(self) -> None:
        """Every Param's state in one JVM call (ParamsBridge.snapshot); complex values are read one by one."""
        snapshot = json.loads(params_bridge().snapshot(self._java_obj))
        for param in self.params:
            name = param.name
            if name not in snapshot:  # a Python-only param
                continue
            is_set, has_default, text = snapshot[name]
            if is_set:
                # The JVM's values passed its validators already.
                Params._set(self, **{name: self._irbis_snapshot_value(name, text)})
            elif has_default and not self.isDefined(param):
                # Only params the generated class does not declare: its defaults come from the manifest.
                self._setDefault(**{name: self._irbis_snapshot_value(name, text)})

    def _irbis_snapshot_value(self, name: str, text: Any) -> Any:
        """A value of ParamsBridge.snapshot: its JSON text read as the param's kind; complex ones from the JVM."""
        kind = self._irbis_kind(name)
        return self._irbis_read_java(name) if kind in kinds.COMPLEX else kinds.from_json(kind, text)

    def _transfer_param_map_from_java(self, java_param_map: Any) -> Dict[Param, Any]:
        """Param maps (e.g. a loaded CrossValidator's estimatorParamMaps) also go through each Param's
        codec: every value is read back from a scratch copy of the JVM stage that holds it."""
        scratch = self._java_obj.copy(self._empty_java_param_map())
        param_map = {}
        for pair in java_param_map.toList():
            name = str(pair.param().name())
            if self.hasParam(name):
                scratch.set(scratch.getParam(name), pair.value())
                param_map[self.getParam(name)] = self._irbis_read_java(name, scratch)
        return param_map
