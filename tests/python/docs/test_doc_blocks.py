"""Every fenced code block of README.md and docs/*.md runs as written (doc_blocks.py says which are not, and why).

The blocks run as a new user runs them after `make build` and `make user-venv`: in build/user-venv (the wheel and
requirements-user.txt, what the README's install lines install; the source tree is not on the path), in a scratch
folder that looks like the clone (its top-level entries linked), so files the blocks write stay out of the
repository. Within a file the blocks run in order and build on each other:
- Python and shell blocks in one interpreter (run_python_docs.py): one namespace per file, bash for shell blocks;
- Scala blocks of a file in one `spark-shell --jars build/jars/irbis-assembly.jar` of pyspark's Spark, as the
  README says;
- R blocks of a file in one Rscript, with sparklyr from ~/.cache/irbis/R-lib (as `make test-r`) and the package
  installed by the block's own `install.packages(...)` into a temporary library first on the path.
The three languages run side by side (mostly waiting on JVMs). A failure names the file, the block and the line.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_blocks import doc_files, extract  # noqa: E402

pytestmark = pytest.mark.own_spark  # starts Spark of its own (conftest.py: own_spark)

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
USER_VENV = ROOT / "build" / "user-venv"
ASSEMBLY = ROOT / "build" / "jars" / "irbis-assembly.jar"
R_LIB = Path.home() / ".cache" / "irbis" / "R-lib"
TIMEOUT = 900
HAVE_R = shutil.which("Rscript") is not None  # without R, make build skips the R package and these are skipped
BLOCKS = {f: extract(f, ROOT) for f in doc_files(ROOT)}
REL = {str(f.relative_to(ROOT)): f for f in BLOCKS}


def user_env(scratch: Path) -> dict:
    """A user's shell after `source build/user-venv/bin/activate`: none of the test suite's settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "IRBIS_JAR", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "SPARK_HOME",
                        "VIRTUAL_ENV", "R_LIBS", "R_LIBS_USER")}
    env["VIRTUAL_ENV"] = str(USER_VENV)
    env["PATH"] = f"{USER_VENV / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env["PWD"] = str(scratch)
    return env


def scratch_clone(base: Path) -> Path:
    clone = base / "clone"
    clone.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in (".git", ".venv"):
            (clone / entry.name).symlink_to(entry)
    return clone


def scala_script(blocks) -> str:
    parts = []
    for b in blocks:
        parts.append(f'println("DOCS-BLOCK {b.number} {b.line}")\n{b.text}')
    parts.append('println("DOCS-END")\nSystem.exit(0)\n')
    return "\n".join(parts)


R_DRIVER = r"""
# Evaluates each block's top-level expressions in order, printing visible values as Rscript would; the first
# error stops the run, naming the block and the line in the Markdown file.
run_blocks <- function(plan) {
  for (b in plan$blocks) {
    cat(sprintf("DOCS-BLOCK %d %d\n", b$number, b$line))
    exprs <- parse(text = b$text, keep.source = TRUE)
    refs <- attr(exprs, "srcref")
    for (i in seq_along(exprs)) {
      line <- b$line + refs[[i]][1] - 1
      ok <- tryCatch({
        v <- withVisible(eval(exprs[[i]], globalenv()))
        if (v$visible) print(v$value)
        TRUE
      }, error = function(e) {
        cat(sprintf("DOCS-FAIL %s block %d line %d: %s\n", plan$file, b$number, line, conditionMessage(e)))
        FALSE
      })
      if (!ok) quit(status = 1, save = "no")
    }
  }
  cat("DOCS-END\n")
}
"""


def r_script(file: str, blocks) -> str:
    plan = {"file": file, "blocks": [{"number": b.number, "line": b.line, "text": b.text} for b in blocks]}
    # The plan travels as JSON text read by a tiny parser-free route: one R string per block.
    lines = [R_DRIVER, "plan <- list(file = %s, blocks = list(" % json.dumps(file)]
    lines.append(",\n".join("  list(number = %dL, line = %dL, text = %s)" % (p["number"], p["line"], json.dumps(p["text"]))
                            for p in plan["blocks"]))
    lines.append("))\nrun_blocks(plan)\n")
    return "\n".join(lines)


def runnable(file, language):
    return [b for b in BLOCKS[REL[file]] if b.language == language and not b.skip]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs every block once (the three languages side by side); returns {(file, language): outcome}."""
    installed = USER_VENV / ".installed"
    wheel = next((ROOT / "dist").glob("irbis-*.whl"), None)
    if not installed.exists() or (wheel and wheel.stat().st_mtime > installed.stat().st_mtime):
        pytest.fail("build/user-venv is missing or older than the wheel: run `make user-venv`", pytrace=False)
    base = tmp_path_factory.mktemp("docs")
    clone = scratch_clone(base)
    env = user_env(clone)
    started = time.perf_counter()
    procs = {}

    spark_home = subprocess.run([str(USER_VENV / "bin" / "python"), "-c",
                                 "import pyspark, os; print(os.path.dirname(pyspark.__file__))"],
                                capture_output=True, text=True, check=True, env=env).stdout.strip()
    for file in REL:
        blocks = runnable(file, "scala")
        if blocks:
            script = base / f"{Path(file).stem}.scala"
            script.write_text(scala_script(blocks))
            log = open(base / f"{Path(file).stem}.scala.log", "w")
            cmd = [f"{spark_home}/bin/spark-shell", "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                   "--jars", "build/jars/irbis-assembly.jar", "-I", str(script)]
            procs[(file, "scala")] = (subprocess.Popen(cmd, cwd=clone, env=env, stdin=subprocess.DEVNULL,
                                                       stdout=log, stderr=subprocess.STDOUT), log)
        blocks = runnable(file, "r")
        if blocks and HAVE_R:
            lib = base / f"R-lib-{Path(file).stem}"
            lib.mkdir()
            script = base / f"{Path(file).stem}.R"
            script.write_text(r_script(file, blocks))
            # As in tests/R/run.R: sparklyr's gateway may take over its default 60 s to open while the other
            # languages' JVMs start beside it on 2 cores.
            profile = base / "Rprofile"
            profile.write_text("options(sparklyr.connect.timeout = 300)\n")
            r_env = dict(env, R_LIBS=f"{lib}:{R_LIB}", R_PROFILE_USER=str(profile))
            log = open(base / f"{Path(file).stem}.R.log", "w")
            procs[(file, "r")] = (subprocess.Popen(["Rscript", str(script)], cwd=clone, env=r_env,
                                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT), log)

    plan = [{"file": file, "path": str(REL[file]),
             "blocks": [{"number": b.number, "line": b.line, "language": b.language, "text": b.text, "skip": b.skip}
                        for b in BLOCKS[REL[file]] if b.language in ("python", "shell")]}
            for file in REL]
    (base / "plan.json").write_text(json.dumps(plan))
    results_path = base / "python-results.json"
    with open(base / "python.log", "w") as log:
        py = subprocess.run([str(USER_VENV / "bin" / "python"), str(HERE / "run_python_docs.py"),
                             str(base / "plan.json"), str(results_path)], cwd=clone, env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, timeout=TIMEOUT)
    python_log = (base / "python.log").read_text(errors="replace")
    results = json.loads(results_path.read_text()) if results_path.exists() else []
    outcomes = {}
    for file in REL:
        entries = [r for r in results if r["file"] == file]
        outcomes[(file, "python")] = {"entries": entries, "rc": py.returncode, "log": python_log}
    for key, (proc, log) in procs.items():
        try:
            rc = proc.wait(timeout=max(60, TIMEOUT - (time.perf_counter() - started)))
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = "timeout"
        log.close()
        outcomes[key] = {"rc": rc, "log": Path(log.name).read_text(errors="replace")}
    print(f"docs blocks: {time.perf_counter() - started:.1f} s; logs in {base}")
    return outcomes


def test_blocks_are_found_with_their_lines_and_skipped_only_by_their_markers(tmp_path):
    (tmp_path / "docs").mkdir()
    doc = tmp_path / "docs" / "X.md"
    doc.write_text("text\n```python\nx = 1\n```\n<!-- not run by the docs test: waits for a terminal -->\n"
                   "```bash\nspark-shell\n```\n```r\nsc <- 1   # needs: cluster\n```\n```scala\n// needs: gpu\nval a = 1\n```\n"
                   "```json\n{}\n```\n")
    blocks = extract(doc, tmp_path)
    assert [(b.number, b.line, b.language, b.skip) for b in blocks] == [
        (1, 3, "python", None), (2, 7, "shell", "not run: waits for a terminal"), (3, 10, "r", "needs cluster"),
        (4, 13, "scala", "needs gpu"), (5, 17, "json", "json: shown, not run")]
    assert blocks[0].text == "x = 1\n" and blocks[0].where == "docs/X.md block 1 (line 3)"
    for bad, message in [("```\nx\n```\n", "names no language"), ("```py\nx\n```\n", "is in 'py'"),
                         ("```python\nx\n", "never closed")]:
        doc.write_text(bad)
        with pytest.raises(ValueError, match=message):
            extract(doc, tmp_path)


def test_the_docs_have_runnable_blocks_in_every_language_the_test_runs():
    runs = {b.language for blocks in BLOCKS.values() for b in blocks if not b.skip}
    assert runs == {"python", "shell", "scala", "r"}, runs


@pytest.mark.parametrize("file", sorted(f for f in REL if any(b.language in ("python", "shell") for b in BLOCKS[REL[f]])))
def test_python_and_shell_blocks(runs, file):
    outcome = runs[(file, "python")]
    entries = outcome["entries"]
    expected = [b for b in BLOCKS[REL[file]] if b.language in ("python", "shell")]
    failed = [e for e in entries if e["status"] == "failed"]
    if failed:
        e = failed[0]
        pytest.fail(f"{file} block {e['number']} (line {e['line']}, {e['language']}) failed:\n{e['error']}",
                    pytrace=False)
    assert len(entries) == len(expected), (
        f"{file}: the runner reported {len(entries)} of {len(expected)} blocks (exit status {outcome['rc']}); "
        f"its output ends:\n{outcome['log'][-4000:]}")
    assert all(e["status"] in ("ok", "skipped") for e in entries), entries


def _check_jvm_log(file, language, outcome, fail_pattern):
    log = outcome["log"]
    markers = re.findall(r"^DOCS-BLOCK (\d+) (\d+)", log, re.M)
    bad = re.search(fail_pattern, log, re.M)
    if bad or "DOCS-END" not in log or outcome["rc"] != 0:
        at = log[:bad.start()] if bad else log
        seen = re.findall(r"^DOCS-BLOCK (\d+) (\d+)", at, re.M)
        where = f"block {seen[-1][0]} (from line {seen[-1][1]})" if seen else "before its first block"
        pytest.fail(f"{file}: {language} {where} failed (exit status {outcome['rc']}); the output around it:\n"
                    f"{log[max(0, (bad.start() if bad else len(log)) - 2500):][:5000]}", pytrace=False)
    assert len(markers) == len(runnable(file, language.lower())), markers


@pytest.mark.parametrize("file", sorted(f for f in REL if runnable(f, "scala")))
def test_scala_blocks(runs, file):
    # A REPL goes on after an error: any compiler error or exception in its output fails the block.
    _check_jvm_log(file, "scala", runs[(file, "scala")], r"(\berror:|^\S*Exception\b|Exception in thread)")


@pytest.mark.parametrize("file", sorted(f for f in REL if runnable(f, "r")))
@pytest.mark.skipif(not HAVE_R, reason="R is not installed (Rscript not on PATH): the README's R blocks are not run")
def test_r_blocks(runs, file):
    _check_jvm_log(file, "R", runs[(file, "r")], r"^DOCS-FAIL .*$")


def test_the_docs_install_lines_install_what_the_user_venv_holds():
    """build/user-venv (the wheel and requirements-user.txt) is where the blocks run: the docs' pip lines must install
    exactly that, with the same pins, or a reader's venv would differ from the tested one."""
    pinned = {}
    for line in (ROOT / "requirements-user.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pinned[name.strip().lower()] = version.strip()
    installs = [line.split("#")[0].split()[2:] for blocks in BLOCKS.values() for b in blocks if b.language == "shell"
                for line in b.text.splitlines() if line.strip().startswith("pip install")]
    assert any("requirements-user.txt" in args and any(a.startswith("dist/irbis-") for a in args) for args in installs), installs
    for args in installs:
        for arg in args:
            if "==" in arg:
                name, version = arg.split("==")
                assert pinned.get(name.lower()) == version, f"pip install {arg}: requirements-user.txt has {pinned.get(name.lower())}"
