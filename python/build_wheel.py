#!/usr/bin/env python3
"""Stages the hand-written runtime, the generated modules and the jar into one folder and builds the wheel.

    python python/build_wheel.py --generated build/generated/python \\
        --jar build/jars/irbis-assembly.jar --out dist
"""

import argparse
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _jar_module():
    """irbis/_runtime/jar.py without importing irbis (whose import needs the very jar we are bundling)."""
    spec = importlib.util.spec_from_file_location("_irbis_jar", HERE / "irbis" / "_runtime" / "jar.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _python_version(version_file: Path) -> str:
    namespace: dict = {}
    exec(version_file.read_text(encoding="utf-8"), namespace)
    return namespace["__version__"]


def stage(generated: Path, jar: Path, staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(HERE / "irbis", staging / "irbis", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(HERE / name, staging / name)
    for src in sorted((generated / "irbis").rglob("*")):
        if src.is_file() and "__pycache__" not in src.parts:
            dest = staging / "irbis" / src.relative_to(generated / "irbis")
            if dest.exists():
                raise SystemExit(f"build_wheel.py: generated {src} would overwrite hand-written {dest}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    bundled = staging / "irbis" / "jars" / "irbis-assembly.jar"
    bundled.parent.mkdir(parents=True)
    shutil.copy2(jar, bundled)
    # Fail here rather than at the user's `import irbis`.
    _jar_module().check_jar(bundled, _python_version(staging / "irbis" / "_version.py"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generated", type=Path, required=True, help="folder holding the generated irbis/")
    parser.add_argument("--jar", type=Path, required=True, help="the assembly jar to bundle")
    parser.add_argument("--out", type=Path, required=True, help="where the wheel goes")
    parser.add_argument("--staging", type=Path, default=REPO / "build" / "python-staging")
    args = parser.parse_args()
    for path in (args.generated / "irbis" / "_version.py", args.jar):
        if not path.is_file():
            raise SystemExit(f"build_wheel.py: {path} is missing (generate the wrappers and build the jars first)")
    stage(args.generated.resolve(), args.jar.resolve(), args.staging.resolve())
    args.out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(args.out.resolve()), str(args.staging.resolve())], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
