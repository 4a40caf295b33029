"""The fenced code blocks of README.md and docs/*.md, as the docs test runs them (no Spark, no third-party imports).

A block is run unless it says why not:
- a comment ``# needs: <what>`` (``// needs: <what>`` in Scala), on a line of its own or after code: it needs what a laptop or the test
  machine lacks (``cluster``, ``hdfs``, ``gpu``, ``network``); a runnable local variant sits beside it;
- an HTML comment ``<!-- not run by the docs test: <why> -->`` on the line before the fence (rendered invisibly):
  the README's own ``make demo`` / ``make test`` (the docs test is part of them) and interactive commands.
Blocks in ``SHOWN`` languages (a JSON layout, a server configuration) are illustrations and never run; a fence
in any other language, or none, is an error, so that a block cannot go untested by a misspelt language name.
"""
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

RUN = {"python": "python", "bash": "shell", "sh": "shell", "shell": "shell", "scala": "scala", "r": "r"}
SHOWN = {"json", "nginx", "text"}
NEEDS = re.compile(r"(?:^|\s)(?:#|//)\s*needs:\s*(.+?)\s*$")
NOT_RUN = re.compile(r"^\s*<!--\s*not run by the docs test:\s*(.+?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)\s*$")


@dataclass
class Block:
    file: str            # path relative to the repository root
    number: int          # 1-based among the file's fenced blocks
    line: int            # 1-based line of the block's first code line in the file
    language: str        # python, shell, scala, r, or a SHOWN language
    text: str
    skip: Optional[str]  # why the test does not run it, or None

    @property
    def where(self) -> str:
        return f"{self.file} block {self.number} (line {self.line})"


def doc_files(root: Path) -> List[Path]:
    return [root / "README.md"] + sorted((root / "docs").glob("*.md"))


def extract(path: Path, root: Path) -> List[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    rel = str(path.relative_to(root))
    blocks: List[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.group(1), m.group(2), m.group(3).lower()
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].strip().startswith(fence[0] * len(fence)):
            j += 1
        if j == len(lines):
            raise ValueError(f"{rel}:{i + 1}: the fence is never closed")
        number = len(blocks) + 1
        if not lang:
            raise ValueError(f"{rel}:{i + 1}: block {number} names no language (```python, ```bash, ...)")
        if lang not in RUN and lang not in SHOWN:
            raise ValueError(f"{rel}:{i + 1}: block {number} is in '{lang}', which the docs test neither runs "
                             f"({', '.join(sorted(RUN))}) nor lists as shown only ({', '.join(sorted(SHOWN))})")
        body = [ln[len(indent):] if ln.startswith(indent) else ln for ln in lines[start:j]]
        text = "\n".join(body) + "\n"
        skip = None
        before = NOT_RUN.match(lines[i - 1]) if i > 0 else None
        if before:
            skip = f"not run: {before.group(1)}"
        else:
            needs = [n.group(1) for n in map(NEEDS.search, body) if n]
            if needs:
                skip = f"needs {needs[0]}"
        if lang in SHOWN:
            skip = skip or f"{lang}: shown, not run"
        blocks.append(Block(rel, number, start + 1, RUN.get(lang, lang), text, skip))
        i = j + 1
    return blocks
