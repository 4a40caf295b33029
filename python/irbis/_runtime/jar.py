"""Finding the Irbis jar and checking that it is the build this Python package was generated from:
wrappers and JVM classes of different versions fail in confusing ways, so a mismatch stops the import."""

import os
import zipfile
from pathlib import Path
from typing import Iterable

JAR_ENV = "IRBIS_JAR"
BUNDLED = Path("jars", "irbis-assembly.jar")
VERSION_RESOURCE = "irbis/version.properties"


def find_jar(package_dirs: Iterable[str]) -> Path:
    """$IRBIS_JAR, else the jar bundled in the wheel; ImportError explaining what to do otherwise."""
    override = os.environ.get(JAR_ENV)
    if override:
        path = Path(override).resolve()
        if not path.is_file():
            raise ImportError(f"{JAR_ENV}={override} does not name a file")
        return path
    dirs = [Path(d) for d in package_dirs]
    for d in dirs:
        if (d / BUNDLED).is_file():
            return (d / BUNDLED).resolve()
    home = dirs[0]
    if (home.parent / "pyproject.toml").is_file():
        raise ImportError(
            f"irbis is imported from its source tree ({home}), which has no bundled jar. Build and install "
            f"the wheel (`make build`, then pip install dist/irbis-*.whl), or point {JAR_ENV} at "
            "build/jars/irbis-assembly.jar.")
    raise ImportError(
        f"the irbis installation at {home} lacks {BUNDLED.as_posix()}: reinstall the irbis wheel.")


def jar_version(jar: Path) -> str:
    try:
        with zipfile.ZipFile(jar) as z:
            text = z.read(VERSION_RESOURCE).decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        raise ImportError(f"{jar} is not an Irbis jar (cannot read {VERSION_RESOURCE}: {e})") from e
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "version":
            return value.strip()
    raise ImportError(f"{jar}: {VERSION_RESOURCE} has no version")


def check_jar(jar: Path, python_version: str) -> None:
    found = jar_version(jar)
    if found != python_version:
        raise ImportError(
            f"the Irbis jar {jar} is version {found} but the irbis Python package is {python_version}; "
            "use the jar and the Python package of the same build.")
