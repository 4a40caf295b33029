"""What `make build` ships besides the wrappers: the thin jar's POM (what `--packages` users resolve) and
the version stamps that tie the jar, the manifest and the pinned pyspark together. No JVM needed."""

import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from conftest import ASSEMBLY_JAR, BUILD, GENERATED, ROOT

POM = BUILD / "jars" / "irbis-core.pom"
NS = {"m": "http://maven.apache.org/POM/4.0.0"}
VERSION = (ROOT / "VERSION").read_text(encoding="utf-8").strip()
NATIVE = "linux-x86_64"


def _require(*paths):
    missing = [str(p.relative_to(ROOT)) for p in paths if not p.exists()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make build` first", pytrace=False)


@pytest.fixture(scope="module")
def pom():
    _require(POM)
    return ET.parse(POM).getroot()


@pytest.fixture(scope="module")
def dependencies(pom):
    """(groupId, artifactId, classifier or None) -> scope ('compile' when the POM leaves it out)."""
    deps = {}
    for d in pom.findall("m:dependencies/m:dependency", NS):
        key = (d.findtext("m:groupId", namespaces=NS), d.findtext("m:artifactId", namespaces=NS),
               d.findtext("m:classifier", namespaces=NS))
        deps[key] = d.findtext("m:scope", default="compile", namespaces=NS)
    return deps


def test_pom_coordinates(pom):
    assert pom.findtext("m:groupId", namespaces=NS) == "io.github.irbis-ml"
    assert pom.findtext("m:artifactId", namespaces=NS) == "irbis-core_2.13"
    assert pom.findtext("m:version", namespaces=NS) == VERSION


def test_pom_spark_is_provided(dependencies):
    spark = {k: v for k, v in dependencies.items() if k[0] == "org.apache.spark"}
    assert {k[1] for k in spark} == {"spark-core_2.13", "spark-sql_2.13", "spark-mllib_2.13"}
    assert set(spark.values()) == {"provided"}, spark


@pytest.mark.parametrize("group, artifact, classifier", [
    ("com.microsoft.onnxruntime", "onnxruntime", None), ("com.microsoft.ml.lightgbm", "lightgbmlib", None),
    ("org.bytedeco", "javacpp", None), ("org.bytedeco", "javacpp", NATIVE),
    ("org.bytedeco", "opencv", None), ("org.bytedeco", "opencv", NATIVE),
    ("org.bytedeco", "openblas", None), ("org.bytedeco", "openblas", NATIVE),
])
def test_pom_runtime_libraries_are_compile_scope(dependencies, group, artifact, classifier):
    assert dependencies.get((group, artifact, classifier)) == "compile", sorted(dependencies)


def test_netty_is_sparks_own_provided_and_not_in_the_assembly(dependencies):
    """Spark Serving's HTTP server is the Netty that pyspark's Spark ships: provided, the same version, and no
    class of it in the assembly jar (two Nettys on one classpath would clash)."""
    import pyspark

    netty = {k: v for k, v in dependencies.items() if k[0] == "io.netty"}
    assert netty and set(netty.values()) == {"provided"}, netty
    pom_versions = {d.findtext("m:version", namespaces=NS) for d in ET.parse(POM).getroot()
                    .findall("m:dependencies/m:dependency", NS) if d.findtext("m:groupId", namespaces=NS) == "io.netty"}
    shipped = {jar.name for jar in (Path(pyspark.__file__).parent / "jars").glob("netty-codec-http-*.jar")}
    assert {f"netty-codec-http-{v}.jar" for v in pom_versions} == shipped, (pom_versions, shipped)
    _require(ASSEMBLY_JAR)
    with zipfile.ZipFile(ASSEMBLY_JAR) as jar:
        assert not [n for n in jar.namelist() if n.startswith("io/netty/")]


def test_pom_test_libraries_stay_out_of_compile_scope(dependencies):
    scalatest = {k: v for k, v in dependencies.items() if k[0] == "org.scalatest"}
    assert set(scalatest.values()) <= {"test"}, scalatest


def test_versions_agree_between_jar_manifest_pyspark_and_version_file():
    import pyspark

    _require(ASSEMBLY_JAR, GENERATED / "manifest.json")
    with zipfile.ZipFile(ASSEMBLY_JAR) as jar:
        lines = jar.read("irbis/version.properties").decode("utf-8").splitlines()
    stamped = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    assert stamped["version"] == VERSION
    assert stamped["spark"] == pyspark.__version__
    manifest = json.loads((GENERATED / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sparkVersion"] == pyspark.__version__
    assert manifest["irbisVersion"] == VERSION


def test_assembly_carries_lightgbm_linux_natives_only():
    names = zipfile.ZipFile(ASSEMBLY_JAR).namelist()
    lightgbm = [n for n in names if n.startswith("com/microsoft/ml/lightgbm/") and not n.endswith(".class")
                and not n.endswith("/")]
    assert sorted(lightgbm) == ["com/microsoft/ml/lightgbm/linux/x86_64/lib_lightgbm.so",
                                "com/microsoft/ml/lightgbm/linux/x86_64/lib_lightgbm_swig.so"]

