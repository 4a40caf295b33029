"""irbis.session() against Spark sessions started without it (a fresh process, one JVM, per scenario) and against
the suite's own session."""

import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, TESTS_JAR, require_build, subprocess_env


def run_python(code: str) -> subprocess.CompletedProcess:
    require_build()
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=subprocess_env(), cwd=str(ROOT),
                          capture_output=True, text=True, timeout=600)


@pytest.mark.own_spark
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


def test_second_call_returns_the_running_session(spark):
    """The suite's session was started by irbis.session() with the tests jar: asking again for that jar (and no
    settings) gives the same session, in this process."""
    import irbis

    assert irbis.session(extra_jars=[TESTS_JAR]) is spark


@pytest.mark.own_spark
def test_a_session_started_without_an_extra_jar_refuses_a_call_that_needs_it_and_is_reused():
    result = run_python(f"""
        import irbis
        first = irbis.session(**{{"spark.ui.enabled": "false"}})
        try:
            irbis.session(extra_jars=[{str(TESTS_JAR)!r}])
            print("no error")
        except RuntimeError as e:
            print(e)
        print("same" if irbis.session() is first else "different")
        """)
    assert result.returncode == 0, result.stderr[-3000:]
    refusal, reuse = result.stdout.strip().splitlines()[-2:]
    assert "The active SparkSession lacks the jars" in refusal and "irbis-tests.jar" in refusal, result.stdout
    assert reuse == "same", result.stdout
