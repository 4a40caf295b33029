"""Asks the JVM for the manifest: a bare py4j gateway with the Irbis jars (no SparkContext, which would
cost seconds and a UI port for nothing)."""

import os
from typing import Any, Sequence


class JvmError(ValueError):
    """The JVM refused to describe the stages (e.g. an unknown Param kind); the message is the Java one."""


def fetch_manifest(jars: Sequence[str], include: str, exclude: str) -> str:
    from pyspark import SparkConf
    from pyspark.java_gateway import launch_gateway

    jars = [os.path.abspath(j) for j in jars]
    missing = [j for j in jars if not os.path.isfile(j)]
    if missing:
        raise FileNotFoundError(f"jar not found: {', '.join(missing)} (build the jars first: make jars)")
    conf = (SparkConf(loadDefaults=False)
            .set("spark.jars", ",".join(jars))
            .set("spark.driver.extraClassPath", os.pathsep.join(jars))
            .set("spark.ui.enabled", "false"))
    gateway = launch_gateway(conf)
    try:
        return manifest_json(gateway, include, exclude)
    finally:
        gateway.shutdown()
        # The gateway JVM exits when its stdin closes (see pyspark.java_gateway).
        if getattr(gateway, "proc", None) is not None:
            gateway.proc.stdin.close()
            gateway.proc.wait(timeout=60)


def manifest_json(gateway: Any, include: str, exclude: str) -> str:
    """The manifest from a running gateway; a Java exception becomes a JvmError carrying only its message,
    which already names the stage and Param (a Java stack trace would bury it)."""
    from py4j.protocol import Py4JJavaError

    try:
        return str(gateway.jvm.irbis.core.codegen.Manifest.json(include, exclude))
    except Py4JJavaError as e:
        message = e.java_exception.getMessage() or e.java_exception.toString()
        raise JvmError(" ".join(str(message).split())) from None
