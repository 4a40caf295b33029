"""Hand-written additions to generated stage classes.

`irbis/_ext/<area>.py` may define `class <StageName>Ext:` for stages of the Scala package
`irbis.<area>`; the generator (codegen/irbis_codegen/python_gen.py) finds it and makes the generated
`irbis.<area>.<StageName>` inherit it first. Ext classes are plain mixins: no `__init__`, and no import
of the generated module (it imports them).
"""
