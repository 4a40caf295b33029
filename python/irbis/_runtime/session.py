"""A SparkSession with the Irbis jar on the driver and executors (`spark.jars`)."""

from pathlib import Path
from typing import Any, Iterable, List, Union

from py4j.java_gateway import JavaClass
from pyspark.core.context import SparkContext
from pyspark.sql import SparkSession


def _jar_list(paths: Iterable[Union[str, Path]]) -> List[str]:
    jars = []
    for p in paths:
        path = Path(p).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"jar not found: {p}")
        jars.append(str(path))
    return jars


def _listed(jar: str, spark_jars: str) -> bool:
    listed = {Path(j.strip().removeprefix("file://").removeprefix("file:")).as_posix()
              for j in spark_jars.split(",") if j.strip()}
    return Path(jar).as_posix() in listed


def _check(spark: SparkSession, version: str, extra_jars: List[str]) -> None:
    """Spark cannot add jars to a running driver, so a session started without them is unusable."""
    hint = "Stop it (spark.stop()) and call irbis.session() again, or start Spark with spark.jars set."
    version_class = spark.sparkContext._jvm.irbis.core.Version
    if not isinstance(version_class, JavaClass):  # py4j's JavaPackage: the class is not on the classpath
        raise RuntimeError(f"The active SparkSession was started without the Irbis jar. {hint}")
    jvm_version = str(version_class.value())
    if jvm_version != version:
        raise RuntimeError(
            f"The active SparkSession has Irbis {jvm_version} on its classpath but the irbis Python "
            f"package is {version}. {hint}")
    spark_jars = spark.sparkContext.getConf().get("spark.jars", "")
    missing = [j for j in extra_jars if not _listed(j, spark_jars)]
    if missing:
        raise RuntimeError(f"The active SparkSession lacks the jars {', '.join(missing)}. {hint}")


def session(
    master: str = "local[2]",
    app_name: str = "irbis",
    extra_jars: Iterable[Union[str, Path]] = (),
    **conf: Any,
) -> SparkSession:
    """Returns the active SparkSession after checking it has the Irbis jar, or starts one.

    Parameters
    ----------
    master, app_name : str
        Used only when no Spark is running.
    extra_jars : iterable of paths
        More jars for driver and executors (added after the Irbis jar).
    **conf
        Spark configuration, e.g. ``**{"spark.sql.shuffle.partitions": "4"}``; a ``spark.jars``
        entry is appended to the Irbis jars.
    """
    from irbis import __version__, jar_path

    extra = _jar_list(extra_jars)
    jars = [str(jar_path())] + extra + [j for j in str(conf.pop("spark.jars", "")).split(",") if j]
    builder = SparkSession.builder
    if SparkContext._active_spark_context is None:
        builder = builder.master(master).appName(app_name).config("spark.jars", ",".join(jars))
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    _check(spark, __version__, extra)
    return spark
