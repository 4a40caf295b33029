"""The one jinja2 setup and file writer that every generator shares, so that all outputs are rendered
and written the same (deterministic) way."""

import json
import textwrap
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _wrap(text: str, width: int = 96, indent: int = 0) -> str:
    """Re-flows one paragraph; `indent` spaces go before every line but the first (jinja-style)."""
    lines = textwrap.wrap(" ".join(text.split()), width=width - indent) or [""]
    return ("\n" + " " * indent).join(lines)


def _docstring(text: str) -> str:
    """Makes text safe inside a triple-quoted Python docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def pyrepr(value: object) -> str:
    """repr(), but strings in double quotes (a JSON string literal is also a Python one)."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def environment(subdir: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES / subdir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["wrap"] = _wrap
    env.filters["docstring"] = _docstring
    env.filters["pyrepr"] = pyrepr
    return env


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return path
