"""irbis.session() against Spark sessions started without it, in a fresh process (one JVM per scenario)."""

import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, TESTS_JAR, require_build, subprocess_env


def run_python(code: str) -> subprocess.CompletedProcess:
    require_build()
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=subprocess_env(), cwd=str(ROOT),
                          capture_output=True, text=True, timeout=600)


def test_active_session_without_the_jar_fails_clearly():
    result = run_python("""
        from pyspark.sql import SparkSession
        SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
        import irbis
        try:
            irbis.session()
        except RuntimeError as e:
            print(e)
        """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "The active SparkSession was started without the Irbis jar" in result.stdout


@pytest.mark.parametrize("tests_jar_first", [True, False], ids=["with-extra-jar", "extra-jar-missing"])
def test_second_call_reuses_the_session_and_checks_extra_jars(tests_jar_first):
    result = run_python(f"""
        import irbis
        first = irbis.session(extra_jars={[str(TESTS_JAR)] if tests_jar_first else []!r},
                              **{{"spark.ui.enabled": "false"}})
        try:
            again = irbis.session(extra_jars=[{str(TESTS_JAR)!r}])
            print("same" if again is first else "different")
        except RuntimeError as e:
            print(e)
        """)
    assert result.returncode == 0, result.stderr[-3000:]
    if tests_jar_first:
        assert result.stdout.strip() == "same"
    else:
        assert "The active SparkSession lacks the jars" in result.stdout and "irbis-tests.jar" in result.stdout
