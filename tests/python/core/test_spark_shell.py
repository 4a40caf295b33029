"""The assembly jar alone is enough for a Scala user: `spark-shell --jars irbis-assembly.jar`."""
import os
import subprocess
from pathlib import Path

import pyspark
import pytest

from conftest import ROOT

pytestmark = pytest.mark.own_spark  # starts Spark of its own (conftest.py: own_spark)

ASSEMBLY = ROOT / "build" / "jars" / "irbis-assembly.jar"

SCRIPT = """
import irbis.stages.EnsembleByKey
val df = Seq(("a", 1.0), ("a", 3.0), ("b", 5.0), ("b", 6.0)).toDF("k", "x")
val out = new EnsembleByKey().setKeys(Array("k")).setCols(Array("x")).transform(df).orderBy("k").collect()
println("IRBIS_RESULT " + out.map(r => s"${r.getString(0)}=${r.getDouble(1)}").mkString(","))
System.exit(0)
"""


def test_spark_shell_uses_ensemble_by_key(tmp_path):
    assert ASSEMBLY.exists(), "run `make build` first"
    script = tmp_path / "check.scala"
    script.write_text(SCRIPT)
    shell = Path(pyspark.__file__).parent / "bin" / "spark-shell"
    env = dict(os.environ, SPARK_HOME=str(Path(pyspark.__file__).parent))
    proc = subprocess.run([str(shell), "--master", "local[1]", "--conf", "spark.ui.enabled=false",
                           "--jars", str(ASSEMBLY), "-I", str(script)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("IRBIS_RESULT")]
    assert lines == ["IRBIS_RESULT a=2.0,b=5.5"], proc.stdout[-2000:] + proc.stderr[-2000:]
