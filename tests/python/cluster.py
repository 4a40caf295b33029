"""One local-cluster[2,1,2048] Spark application (two executor JVMs of one core each, beside the driver), shared by
the tests that need work to run in several executor JVMs: starting one costs a driver and two executor JVMs, so
the tests send it their code instead of each starting their own. It runs in a subprocess (the test process has
its own local Spark), and reads jobs from its stdin: each job is Python code run with `spark` and `args` in its
globals, and what the code prints comes back. A job that kills an executor JVM must be the last (the worker
starts another, but not at once)."""

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import List, Optional

import pyspark

from conftest import JVM_OPTIONS, TESTS_JAR, subprocess_env

MARK = "@@irbis-local-cluster@@ "

SERVER = r"""
import contextlib, io, json, sys, traceback
import irbis

MARK = sys.argv[3]
spark = irbis.session(master="local-cluster[2,1,2048]", app_name="irbis-tests-local-cluster",
                      extra_jars=[sys.argv[1]], **json.loads(sys.argv[2]))
protocol = sys.stdout
print(MARK + json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    printed = io.StringIO()
    result = {}
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(job["code"], job["name"], "exec"),
                 {"__name__": "__local_cluster_job__", "spark": spark, "args": job["args"]})
    except BaseException:
        result["error"] = traceback.format_exc()
    result["stdout"] = printed.getvalue()
    protocol.write(MARK + json.dumps(result) + "\n")
    protocol.flush()
spark.stop()
"""


def spark_home(folder: Path) -> Path:
    """pyspark's install as SPARK_HOME, seen through a scratch folder: workers write their `work/` folder
    (executor logs) under SPARK_HOME, which must not be the shared virtual environment."""
    home = folder / "spark-home"
    home.mkdir()
    for entry in Path(pyspark.__path__[0]).iterdir():
        if entry.name != "work":
            (home / entry.name).symlink_to(entry)
    return home


class LocalCluster:
    def __init__(self, folder: Path, start_timeout: float = 300):
        env = subprocess_env()
        env["SPARK_HOME"] = str(spark_home(folder))
        env["PYSPARK_PYTHON"] = sys.executable
        conf = {"spark.ui.enabled": "false", "spark.executor.memory": "1g", "spark.sql.shuffle.partitions": "2",
                "spark.executor.extraJavaOptions": " ".join(JVM_OPTIONS),
                # A barrier stage rerun after a lost executor waits for the slots of its replacement: look often.
                "spark.scheduler.barrier.maxConcurrentTasksCheck.interval": "2s"}
        self.log = folder / "driver.log"
        self._log_file = open(self.log, "w")
        self._proc = subprocess.Popen([sys.executable, "-c", SERVER, str(TESTS_JAR), json.dumps(conf), MARK],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log_file,
                                      text=True, env=env, cwd=str(folder))
        self._replies: "queue.Queue[Optional[dict]]" = queue.Queue()
        self.output: List[str] = []  # what the driver printed outside the protocol
        threading.Thread(target=self._read, daemon=True).start()
        self._reply(start_timeout, "starting the local-cluster application")

    def _read(self) -> None:
        for line in self._proc.stdout:
            if line.startswith(MARK):
                self._replies.put(json.loads(line[len(MARK):]))
            else:
                self.output.append(line)
        self._replies.put(None)  # the driver exited

    def _reply(self, timeout: float, what: str) -> dict:
        try:
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            reply = {"error": f"no answer in {timeout:.0f} s"}
        if reply is None:
            reply = {"error": f"the driver exited with code {self._proc.wait()}"}
        if "error" in reply:
            self._log_file.flush()
            raise AssertionError(f"local cluster, {what}: {reply['error']}\n{reply.get('stdout', '')}\n"
                                 f"driver log ({self.log}), last lines:\n{self.log.read_text()[-3000:]}")
        return reply

    def run(self, name: str, code: str, *args, timeout: float = 300) -> str:
        """Runs `code` in the cluster's driver with `spark` and `args` (JSON values) defined; returns what it
        printed. A failure in the job raises here with its traceback and the driver's log."""
        self._proc.stdin.write(json.dumps({"name": name, "code": code, "args": list(args)}) + "\n")
        self._proc.stdin.flush()
        return self._reply(timeout, name)["stdout"]

    def stop(self) -> None:
        try:
            self._proc.stdin.close()
            self._proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
        finally:
            self._log_file.close()


def last_json(printed: str):
    return json.loads(printed.strip().splitlines()[-1])
