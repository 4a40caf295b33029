#!/usr/bin/env python3
"""Generates the Irbis wrappers from the stages registered in the jars (or from a saved manifest).

    python codegen/generate.py --jars build/jars/irbis-assembly.jar \\
        --include irbis. --exclude irbis.testkit. --out build/generated
    python codegen/generate.py --manifest build/generated/manifest.json --out build/generated

Writes <out>/manifest.json, <out>/python/irbis/..., <out>/docs/api.md and, through
irbis_codegen.r_gen when present, <out>/R/. The same manifest always gives the same bytes.
"""

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from irbis_codegen import docs_gen, jvm, python_gen  # noqa: E402
from irbis_codegen import manifest as mf  # noqa: E402
from irbis_codegen.templating import write  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_EXT_DIR = REPO / "python" / "irbis" / "_ext"
DEFAULT_R_DIR = REPO / "R"


def generate(manifest: Dict[str, Any], out: Path, ext_dir: Optional[Path] = DEFAULT_EXT_DIR,
             r_dir: Path = DEFAULT_R_DIR) -> List[Path]:
    mf.validate(manifest)
    written = [write(out / "manifest.json", mf.dumps(manifest))]
    # Start from scratch so that the modules of removed stages do not linger.
    shutil.rmtree(out / "python" / "irbis", ignore_errors=True)
    written += python_gen.render(manifest, out / "python", ext_dir)
    written += docs_gen.render(manifest, out / "docs")
    r_gen = docs_gen.r_gen_module()
    if r_gen is not None:
        r_gen.render(manifest, out / "R" / "irbis", r_dir)
    return written


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--jars", help="jars to start the JVM with, separated by ':'")
    source.add_argument("--manifest", type=Path, help="render this manifest instead of asking a JVM")
    parser.add_argument("--include", default="irbis.", help="class-name prefix of the stages to generate")
    parser.add_argument("--exclude", default="irbis.testkit.", help="class-name prefix to leave out ('' = none)")
    parser.add_argument("--out", type=Path, required=True, help="output folder, e.g. build/generated")
    parser.add_argument("--ext-dir", type=Path, default=DEFAULT_EXT_DIR,
                        help="hand-written <StageName>Ext classes (default: python/irbis/_ext)")
    parser.add_argument("--r-dir", type=Path, default=DEFAULT_R_DIR,
                        help="hand-written R support, laid out as the package: R/, man/ (default: R)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        if args.jars:
            manifest = mf.parse(jvm.fetch_manifest(args.jars.split(":"), args.include, args.exclude))
        else:
            manifest = mf.load(args.manifest)
        generate(manifest, args.out, args.ext_dir, args.r_dir)
    except (ValueError, OSError) as e:  # manifest and generation errors name the stage and param
        print(f"generate.py: error: {e}", file=sys.stderr)
        return 1
    print(f"generate.py: {len(manifest['stages'])} stages -> {args.out} ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
