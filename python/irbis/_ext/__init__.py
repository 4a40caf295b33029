"""Hand-written additions to generated stage classes.

`irbis/_ext/<area>.py` may define `class <StageName>Ext:` for stages of the Scala package
`irbis.<area>`; the generator (codegen/irbis_codegen/python_gen.py) finds it and makes the generated
`irbis.<area>.<StageName>` inherit it first. Ext classes are plain mixins: no `__init__`, and no import
of the generated module (it imports them). An Ext that takes keywords of its own (SynapseML's spellings)
calls `accepting_keywords` from its `__init_subclass__`.
"""

from typing import Any, Dict


def accepting_keywords(cls: Any, aliases: Dict[str, str]) -> None:
    """Lets the generated keyword-only ``__init__`` of ``cls`` also take the keywords in ``aliases`` (keyword ->
    setter name), each applied by its setter after the generated Params. An Ext class cannot have an ``__init__``
    (the generated one wins), so its ``__init_subclass__`` calls this on the generated class as it is made."""
    import functools

    generated = cls.__dict__.get("__init__")
    if generated is None:
        return

    @functools.wraps(generated)
    def __init__(self: Any, **kwargs: Any) -> None:
        given = {name: kwargs.pop(name) for name in aliases if name in kwargs}
        generated(self, **kwargs)
        for name, value in given.items():
            getattr(self, aliases[name])(value)

    cls.__init__ = __init__
