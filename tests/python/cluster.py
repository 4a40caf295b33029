"""A real Spark standalone cluster on 127.0.0.1 (StandaloneCluster: one Master and two Workers of pyspark's own Spark,
started with `bin/spark-class`), and the one Spark application on it that the tests share (ClusterApp): the tests
that need work to run in several executor JVMs, apart from the driver, or Irbis to reach executors that share
nothing with the driver, send it their code instead of each starting their own. Irbis reaches the executors only
through `spark.jars` (what `irbis.session` sets): no shared class path, each executor in its worker's own work
folder.

The application runs in a subprocess (the test process has its own local Spark) and reads jobs from its stdin:
each job is Python code run with `spark`, `args` and `executors` (the application's executor processes) in its
globals, and what the code prints comes back. A job that kills an executor JVM must wait until its worker has
started another (`wait_for_executors`) or be the last.

`python tests/python/cluster.py start FOLDER` and `... stop FOLDER` start and stop the same cluster from outside
Python (a Scala test, a shell): `start` prints the master's URL and writes the processes' ids to FOLDER.
"""

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import psutil
import pyspark

MARK = "@@irbis-cluster-app@@ "
WORKERS, WORKER_CORES, WORKER_MEMORY = 2, 1, "2g"

SERVER = r"""
import contextlib, io, json, sys, time, traceback
import psutil
import irbis

master, tests_jar, conf, MARK = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
spark = irbis.session(master=master, app_name="irbis-tests-cluster", extra_jars=[tests_jar], **conf)
app_id = spark.sparkContext.applicationId

def executors():
    "The live executor JVMs of this application, wherever they were started."
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "CoarseGrainedExecutorBackend" in cmd and app_id in cmd and p.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(p)
    return found

def wait_for_executors(n, timeout=120):
    "Until n executor JVMs run and the driver knows them (after a kill, the worker starts a new one)."
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(executors()) == n and spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() == n + 1:
            return
        time.sleep(0.5)
    raise TimeoutError(f"{len(executors())} executor JVMs after {timeout} s, {n} wanted")

wait_for_executors(int(conf.get("spark.cores.max", "2")))
protocol = sys.stdout
print(MARK + json.dumps({"ready": True, "app": app_id}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    printed = io.StringIO()
    result = {}
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(job["code"], job["name"], "exec"),
                 {"__name__": "__cluster_job__", "spark": spark, "args": job["args"], "executors": executors,
                  "wait_for_executors": wait_for_executors})
    except BaseException:
        result["error"] = traceback.format_exc()
    result["stdout"] = printed.getvalue()
    protocol.write(MARK + json.dumps(result) + "\n")
    protocol.flush()
spark.stop()
"""


def spark_home(folder: Path) -> Path:
    """pyspark's install as SPARK_HOME, seen through a scratch folder: Spark's daemons write under SPARK_HOME,
    which must not be the shared virtual environment."""
    home = folder / "spark-home"
    home.mkdir(exist_ok=True)
    for entry in Path(pyspark.__path__[0]).iterdir():
        if entry.name not in ("work", "logs") and not (home / entry.name).exists():
            (home / entry.name).symlink_to(entry)
    return home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandaloneCluster:
    """One Master and `workers` Workers (`cores` cores and WORKER_MEMORY each) of pyspark's Spark on 127.0.0.1,
    each with its own work and log folders under `folder`; ready once the master lists every worker as alive.
    `env` is the environment of the daemons and of the applications started with `self.env` (the tests add their
    Python path); `jvm_options` go to the daemons (the benchmarks leave Spark's defaults). The tests' workers offer
    two cores each: the shared application (ClusterApp) takes one on each worker, and an application of a test's
    own (spark-submit, a second session) the other."""

    # start_timeout is generous: beside the other suites, the daemons' JVMs once took 3 minutes to start
    def __init__(self, folder: Path, workers: int = WORKERS, env: Optional[Dict[str, str]] = None,
                 jvm_options: Sequence[str] = (), start_timeout: float = 600, cores: int = WORKER_CORES):
        self.folder = folder
        self.home = spark_home(folder)
        self.env = dict(os.environ if env is None else env)
        self.env.update(SPARK_HOME=str(self.home), SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
                        SPARK_DAEMON_MEMORY="512m", SPARK_DAEMON_JAVA_OPTS=" ".join(jvm_options),
                        SPARK_LOG_DIR=str(folder / "logs"))
        port, ui = free_port(), free_port()
        self.url, self.ui = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}/json/"
        self.processes: List[subprocess.Popen] = []
        self._commands: List[tuple] = []  # (name, main class, arguments) of each daemon, to restart one
        try:
            self._daemon("master", "org.apache.spark.deploy.master.Master",
                         "--host", "127.0.0.1", "--port", port, "--webui-port", ui)
            for i in range(workers):
                work = folder / f"worker-{i}"
                work.mkdir(exist_ok=True)
                self._daemon(f"worker-{i}", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                             "--cores", cores, "--memory", WORKER_MEMORY, "--work-dir", work,
                             "--webui-port", free_port(), self.url)
            self._wait_for_workers(workers, start_timeout)
        except BaseException:
            self.stop()
            raise

    def _write_pids(self) -> None:
        (self.folder / "pids.json").write_text(json.dumps({"url": self.url, "pids": self.pids}))

    @property
    def pids(self) -> List[int]:
        return [p.pid for p in self.processes]

    def _daemon(self, name: str, main: str, *args, index: Optional[int] = None) -> None:
        """Starts a daemon (a JVM: bin/spark-class execs java), appended, or in place `index` when restarted."""
        log = open(self.folder / f"{name}.log", "a")
        proc = subprocess.Popen(
            [str(self.home / "bin" / "spark-class"), main, *map(str, args)], stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=str(self.folder), start_new_session=True)
        log.close()
        if index is None:
            self.processes.append(proc)
            self._commands.append((name, main, args))
        else:
            self.processes[index] = proc
        self._write_pids()  # at once: `cluster.py stop` finds what a start killed halfway had started

    def restart_worker(self, pid: int, timeout: float = 120) -> None:
        """Starts again the worker whose daemon had process id `pid` (killed by a test, as a machine is lost), with
        its folders and cores, and waits until the master lists every worker alive again."""
        index = self.pids.index(pid)
        assert index > 0, "the master is not restarted"
        name, main, args = self._commands[index]
        if self.processes[index].poll() is None:
            raise AssertionError(f"{name} (pid {pid}) is still running")
        self._daemon(name, main, *args, index=index)
        self._wait_for_workers(len(self.processes) - 1, timeout)

    def executor_folders(self, app_id: str) -> List[Path]:
        """The work folders of an application's executors (WORKER/APP/EXECUTOR, holding its stdout and stderr) on
        every worker: where its executors ran, also after it ended."""
        return sorted(self.folder.glob(f"worker-*/{app_id}/*"))

    def applications(self) -> List[dict]:
        """The master's running and completed applications (id, name, state, cores), oldest first."""
        status = self.status()
        return sorted(status["activeapps"] + status["completedapps"], key=lambda a: a["starttime"])

    def status(self) -> dict:
        with urllib.request.urlopen(self.ui, timeout=5) as r:
            return json.loads(r.read())

    def _wait_for_workers(self, n: int, timeout: float) -> None:
        deadline, alive = time.time() + timeout, 0
        while time.time() < deadline:
            dead = [p.args[1] for p in self.processes if p.poll() is not None]
            if dead:
                raise AssertionError(f"standalone cluster: {dead} exited; logs in {self.folder}")
            try:
                alive = sum(w["state"] == "ALIVE" for w in self.status()["workers"])
            except OSError:
                pass  # the master's web UI is not up yet
            if alive == n:
                return
            time.sleep(0.5)
        raise AssertionError(f"standalone cluster: {alive} of {n} workers alive after {timeout:.0f} s; "
                             f"logs in {self.folder}")

    def stop(self) -> None:
        stop_pids(self.pids)


def stop_pids(pids: List[int]) -> None:
    """Stops the daemons, workers first, and whatever they started (executors): SIGTERM, then SIGKILL."""
    procs = []
    for pid in reversed(pids):
        try:
            p = psutil.Process(pid)
            procs += [p] + p.children(recursive=True)
        except psutil.NoSuchProcess:
            pass
    for p in procs:
        try:
            p.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=20)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=10)


class ClusterApp:
    """The tests' one application on a StandaloneCluster: a driver of its own (a subprocess) with one executor of
    one core on each worker."""

    def __init__(self, cluster: StandaloneCluster, folder: Path, start_timeout: float = 300):
        from conftest import JVM_OPTIONS, TESTS_JAR

        env = dict(cluster.env)
        conf = {"spark.ui.enabled": "false", "spark.executor.memory": "1g", "spark.sql.shuffle.partitions": "2",
                "spark.cores.max": str(WORKERS * WORKER_CORES), "spark.executor.cores": str(WORKER_CORES),
                "spark.executor.extraJavaOptions": " ".join(JVM_OPTIONS),
                # A barrier stage rerun after a lost executor waits for the slots of its replacement: look often.
                "spark.scheduler.barrier.maxConcurrentTasksCheck.interval": "2s"}
        self.log = folder / "driver.log"
        self._log_file = open(self.log, "w")
        self._proc = subprocess.Popen([sys.executable, "-c", SERVER, cluster.url, str(TESTS_JAR), json.dumps(conf),
                                       MARK], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log_file,
                                      text=True, env=env, cwd=str(folder))
        self._replies: "queue.Queue[Optional[dict]]" = queue.Queue()
        self.output: List[str] = []  # what the driver printed outside the protocol
        threading.Thread(target=self._read, daemon=True).start()
        self.app_id = self._reply(start_timeout, "starting the application on the standalone cluster")["app"]

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
            raise AssertionError(f"cluster application, {what}: {reply['error']}\n{reply.get('stdout', '')}\n"
                                 f"driver log ({self.log}), last lines:\n{self.log.read_text()[-3000:]}")
        return reply

    def run(self, name: str, code: str, *args, timeout: float = 300) -> str:
        """Runs `code` in the application's driver with `spark` and `args` (JSON values) defined; returns what it
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


if __name__ == "__main__":
    command, where = sys.argv[1], Path(sys.argv[2])
    if command == "start":
        from conftest import JVM_OPTIONS, subprocess_env

        where.mkdir(parents=True, exist_ok=True)
        print(StandaloneCluster(where, env=subprocess_env(), jvm_options=JVM_OPTIONS).url)
    elif command == "stop":
        stop_pids(json.loads((where / "pids.json").read_text())["pids"])
    else:
        sys.exit("usage: cluster.py start|stop FOLDER")
