"""The table of LightGBM's parameter names and aliases that Irbis checks passThroughArgs against
(core/src/main/resources/irbis/lightgbm/parameters.txt) is what the natives Irbis ships say: LGBM_DumpParamAliases of
the lib_lightgbm.so inside the assembly jar, called through ctypes."""

import ctypes
import json
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TABLE = ROOT / "core/src/main/resources/irbis/lightgbm/parameters.txt"
JAR = ROOT / "build/jars/irbis-assembly.jar"


def test_parameter_table_is_the_natives_own(tmp_path):
    with zipfile.ZipFile(JAR) as jar:
        name = next(n for n in jar.namelist() if n.endswith("linux/x86_64/lib_lightgbm.so"))
        lib_path = tmp_path / "lib_lightgbm.so"
        lib_path.write_bytes(jar.read(name))
    lib = ctypes.CDLL(str(lib_path))
    size = 1 << 20
    buf = ctypes.create_string_buffer(size)
    used = ctypes.c_int64(0)
    assert lib.LGBM_DumpParamAliases(ctypes.c_int64(size), ctypes.byref(used), buf) == 0
    assert used.value < size
    natives = {k: sorted(v) for k, v in json.loads(buf.value.decode()).items()}
    table = {}
    for line in TABLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            names = line.split()
            table[names[0]] = sorted(names[1:])
    assert table == natives
