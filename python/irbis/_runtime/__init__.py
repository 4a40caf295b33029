"""Private runtime of the generated wrappers (kind converters, the wrapper mixin, the jar and session)."""
