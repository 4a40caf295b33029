"""Reading torch checkpoints without torch, and without letting a checkpoint run code.

A ``.pth`` file is a pickle, and unpickling calls whatever globals the pickle names: a hostile checkpoint runs
code as soon as ``pickle.load`` (or ``torch.load`` without ``weights_only``) reads it. :func:`load_state_dict`
reads the legacy (pre-1.6, non-zip) format with an unpickler that resolves a fixed list of globals (an
``OrderedDict``, torch's tensor rebuild, its storage types) to harmless stand-ins and refuses every other one
before anything is called.

The format: five pickles in a row (magic number, protocol version, system info, the state dict whose tensors
point at storages by persistent id, the storage keys in file order), then each storage's raw bytes preceded by
its element count as an int64.
"""

import collections
import os
import pickle
import struct
from typing import Any, BinaryIO, Dict, Sequence, Tuple, Union

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
STORAGE_DTYPES = {"FloatStorage": "f4", "DoubleStorage": "f8", "HalfStorage": "f2", "LongStorage": "i8",
                  "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1", "ByteStorage": "u1",
                  "BoolStorage": "b1"}


class _StorageType(str):
    """Stands for ``torch.<X>Storage`` in a persistent id; a str, so it cannot be called by REDUCE."""


class _TensorRef:
    """A tensor whose storage bytes come after the pickle (legacy format), materialised later."""

    def __init__(self, storage: Tuple[str, int, int], offset: int, size: Sequence[int], stride: Sequence[int]):
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)

    def resolve(self, data: Dict[str, np.ndarray]) -> np.ndarray:
        key, view_offset, view_numel = self.storage
        flat = data[key][view_offset:view_offset + view_numel]
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride) if n > 0)
        if len(self.size) != len(self.stride) or min(self.stride, default=0) < 0 or last >= max(len(flat), 1):
            raise ValueError(f"tensor view {self.size}/{self.stride}+{self.offset} exceeds its storage")
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], self.size, [s * flat.itemsize for s in self.stride], writeable=False)
        return np.array(view, order="C")  # a copy, independent of the storage buffer


def _rebuild_tensor_v2(storage: Any, storage_offset: Any, size: Any, stride: Any, *_unused: Any) -> _TensorRef:
    """Stands in for ``torch._utils._rebuild_tensor_v2`` (requires_grad, hooks and metadata are irrelevant)."""
    if not (isinstance(storage, tuple) and all(isinstance(v, int) for v in (storage_offset, *size, *stride))):
        raise pickle.UnpicklingError("malformed tensor in the checkpoint")
    return _TensorRef(storage, storage_offset, size, stride)


class SafeUnpickler(pickle.Unpickler):
    """Unpickles a torch state dict and nothing else: any global outside a fixed list is refused before
    anything is called, so a hostile checkpoint cannot run code."""

    def __init__(self, file: BinaryIO, byte_order: str = "<"):
        super().__init__(file)
        self.byte_order = byte_order
        self.storages: Dict[str, Tuple[str, int]] = {}  # key -> (numpy dtype, element count)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to unpickle global {module}.{name}: not part of a torch "
                                     "state dict (the checkpoint may be corrupt or malicious)")

    def persistent_load(self, pid: Any) -> Tuple[str, int, int]:
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel, view = pid
        self.storages[str(key)] = (self.byte_order + STORAGE_DTYPES[storage_type], int(numel))
        # A view (view_key, offset, numel) shares its root storage's bytes.
        _, offset, view_numel = view if view is not None else (None, 0, numel)
        return str(key), int(offset), int(view_numel)


def load_state_dict(path: Union[str, os.PathLike]) -> Dict[str, np.ndarray]:
    """Read a torch checkpoint in the legacy (non-zip) format into numpy arrays, without torch.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.pth`` file.

    Returns
    -------
    dict of str to numpy.ndarray
        The state dict, in file order, with little-endian (native) arrays.

    Raises
    ------
    pickle.UnpicklingError
        The checkpoint names a global outside a torch state dict (it may be malicious), or is malformed.
    ValueError
        The file is not a legacy torch checkpoint, or its storages are truncated or inconsistent.
    """
    with open(path, "rb") as f:
        if f.read(4) == b"PK\x03\x04":
            raise ValueError(f"{path} is a zip-format torch checkpoint; only the legacy (pre-1.6, non-zip) "
                             "format is supported")
        f.seek(0)
        if SafeUnpickler(f).load() != LEGACY_MAGIC or SafeUnpickler(f).load() != LEGACY_PROTOCOL:
            raise ValueError(f"{path} is not a torch checkpoint in the legacy format")
        sys_info = SafeUnpickler(f).load()
        byte_order = "<" if not isinstance(sys_info, dict) or sys_info.get("little_endian", True) else ">"
        unpickler = SafeUnpickler(f, byte_order)
        tree = unpickler.load()
        keys = SafeUnpickler(f).load()
        if not isinstance(tree, dict) or set(keys) != set(unpickler.storages):
            raise ValueError(f"{path}: the storage list does not match the state dict")
        data, file_size = {}, os.fstat(f.fileno()).st_size
        for key in keys:
            dtype, numel = unpickler.storages[key]
            header = f.read(8)
            count = struct.unpack(byte_order + "q", header)[0] if len(header) == 8 else -1
            nbytes = count * np.dtype(dtype).itemsize
            # Checked before reading, so that a corrupt count cannot make us allocate a huge buffer.
            if count != numel or nbytes > file_size - f.tell():
                raise ValueError(f"{path}: storage {key} is truncated or inconsistent")
            raw = f.read(nbytes)
            data[key] = np.frombuffer(raw, dtype).astype(np.dtype(dtype).newbyteorder("="))
    return {name: t.resolve(data) for name, t in tree.items() if isinstance(t, _TensorRef)}
