"""Runs the Python and shell blocks of several Markdown files, as a reader copying them would, and writes the outcome.

Started by test_doc_blocks.py with the user's virtual environment's interpreter (build/user-venv: the wheel and
requirements-user.txt, nothing of the source tree), in a scratch folder that looks like a clone after `make build`.
Usage: ``python run_python_docs.py PLAN.json RESULTS.json``. PLAN: ``[{"file": ..., "path": ..., "blocks":
[{"number", "line", "language", "text", "skip"}]}]``. Each file's Python blocks run in one namespace of their own
(a block sees only what the earlier blocks of its file defined), its shell blocks in bash (`set -euo pipefail`),
all in the file's order. After the first failure the file's later blocks are not run: they build on it. The Spark
JVM is shared between files (starting one per file would cost more than the blocks), and every streaming query
a file left running is stopped before the next file.
RESULTS: one entry per block: file, number, line, status (ok, failed, skipped, not reached), seconds, error.
"""
import json
import subprocess
import sys
import time
import traceback

SHELL_TIMEOUT = 600


def run_python(path, block, namespace):
    # Blank lines in front put the code at its line of the Markdown file, so tracebacks name README.md:LINE.
    code = compile("\n" * (block["line"] - 1) + block["text"], path, "exec")
    exec(code, namespace)


def run_shell(path, block):
    offset = block["line"] - 3  # the block's first line is line 3 of the script
    script = ("set -euo pipefail\n"
              f"trap 'echo \"{path}:$((LINENO + {offset})): exit status $?\" >&2' ERR\n" + block["text"])
    proc = subprocess.run(["bash", "-c", script], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=SHELL_TIMEOUT)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        raise RuntimeError(f"exit status {proc.returncode}; its output ends:\n{proc.stdout[-3000:]}")


def stop_streams():
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    if spark is not None:
        for query in spark.streams.active:
            query.stop()


def main(plan_path, results_path):
    with open(plan_path) as f:
        plan = json.load(f)
    results = []
    for doc in plan:
        namespace = {"__name__": "__main__"}
        failed = False
        for block in doc["blocks"]:
            entry = {"file": doc["file"], "number": block["number"], "line": block["line"],
                     "language": block["language"], "seconds": 0.0, "error": None}
            if block["skip"]:
                entry["status"] = "skipped"
                entry["error"] = block["skip"]
            elif failed:
                entry["status"] = "not reached"
            else:
                print(f"=== {doc['file']} block {block['number']} (line {block['line']}, {block['language']})",
                      flush=True)
                start = time.perf_counter()
                try:
                    if block["language"] == "python":
                        run_python(doc["path"], block, namespace)
                    else:
                        run_shell(doc["path"], block)
                    entry["status"] = "ok"
                except BaseException as e:  # SystemExit too: a block must not end the run
                    failed = True
                    entry["status"] = "failed"
                    entry["error"] = "".join(traceback.format_exception(type(e), e, e.__traceback__))[-6000:]
                entry["seconds"] = round(time.perf_counter() - start, 1)
                sys.stdout.flush()
            results.append(entry)
        try:
            stop_streams()
        except Exception:
            traceback.print_exc()
        with open(results_path, "w") as f:  # written after every file: a crash keeps what was done
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
