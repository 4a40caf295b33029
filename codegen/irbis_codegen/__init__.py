"""Generates the Irbis Python package, the API reference and (through r_gen) the R package from the
JSON manifest that the JVM writes (see docs/ARCHITECTURE.md)."""
