"""Irbis: Spark ML stages written in Scala, with generated Python wrappers.

Stages live in subpackages named as the Scala packages (``irbis.stages.X`` wraps the JVM class
``irbis.stages.X``). ``irbis.session()`` starts Spark with the bundled jar.
"""

import pkgutil
from pathlib import Path

# Generated modules may sit in other sys.path entries (build trees, test-only stages in irbis.testkit).
__path__ = pkgutil.extend_path(__path__, __name__)

try:
    from irbis._version import __version__
except ImportError as e:  # pragma: no cover - only in an ungenerated source tree
    raise ImportError(
        "irbis/_version.py is missing: it is generated with the wrappers (`make build`); put "
        "build/generated/python on sys.path when working from the source tree.") from e

from irbis._runtime.jar import check_jar, find_jar
from irbis._runtime.session import session

_JAR = find_jar(__path__)
check_jar(_JAR, __version__)


def jar_path() -> Path:
    """The Irbis assembly jar this package uses (bundled, or $IRBIS_JAR)."""
    return _JAR


__all__ = ["__version__", "jar_path", "session"]
