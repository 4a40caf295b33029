"""Real photographs for the camera-trap example on a machine without ``../shared``: animal or no animal.

A fresh clone has no camera-trap images, so this script builds a labelled folder in the same format
(``labels.csv`` with path, species, is_animal, sequence, source, license) from photographs that a pinned
Debian package ships: ``gcompris-qt-data`` 3.1-2 (Debian 12), the data of the GCompris educational games.
Its "explore" activities carry photographs from Wikimedia Commons, each with its author, licence and source
page in a README beside it (public domain, CC0-1.0 or CC-BY-SA-4.0):

- ``animal/``: 24 animals (15 wild: bison, giraffe, jaguar, moose, polar bear ...; 9 farm: cow, horse, sheep ...);
- ``no_animal/``: 49 monuments and landscapes with no animal in view (species ``blank``).

These are single photographs, not camera-trap bursts. To exercise what the example does with bursts
(split by sequence, EnsembleByKey over a sequence), every photograph becomes a **synthetic** sequence of
``--frames`` frames: shifted crops of a few percent, a small exposure change and sensor noise, re-encoded as
JPEG. In a real burst the camera is still and the animal moves; here the frame moves. Frames of one sequence
are therefore near duplicates, and the accuracy of any model on them says little about camera traps: the
data is for running the example end to end, offline, on real images.

The package is fetched from the Debian archive's pool over HTTP (or, failing that, with ``apt-get download``)
into ``~/.cache/irbis/debs``, checked against its pinned sha256 and unpacked here in Python (ar, tar.xz and the
Qt resource files that hold the pictures); nothing is written into the repository.
Usage::

    python examples/sample_data.py [--out DIR] [--frames 3] [--deb gcompris-qt-data_3.1-2_all.deb]
"""
import argparse
import hashlib
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import urllib.request
import zlib

import cv2
import numpy as np
import pandas as pd

PACKAGE, VERSION = "gcompris-qt-data", "3.1-2"
POOL_URL = f"http://deb.debian.org/debian/pool/main/g/gcompris-qt/{PACKAGE}_{VERSION}_all.deb"
DEB_SHA256 = "e9cf06ab2105529068df73085784e835d2ff03f870d2a8091f09125d40abac9f"
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "irbis")
DEFAULT_OUT = os.path.join(CACHE, "sample-data", "animal-or-not")
RCC_DIR = "./usr/share/gcompris-qt/rcc/"
# Qt resource file -> (folder in the output, is_animal)
ACTIVITIES = {"explore_world_animals.rcc": ("animal", 1), "explore_farm_animals.rcc": ("animal", 1),
              "explore_monuments.rcc": ("no_animal", 0)}
# a file whose README entry misspells its name (upstream typo in GCompris 3.1)
README_NAMES = {"germany/aulaPalatina.webp": "germany/audaPalatina.webp"}
LICENSES = {"Public Domain": "public-domain", "CC0-1.0": "CC0-1.0", "CC-BY-SA 4.0": "CC-BY-SA-4.0"}


def fetch_deb(cache=CACHE):
    """The pinned .deb, cached: from the Debian archive's pool over HTTP (no apt lists or root needed), else
    through ``apt-get download``; written under a temporary name and kept only once its sha256 matches."""
    debs = os.path.join(cache, "debs")
    path = os.path.join(debs, f"{PACKAGE}_{VERSION}_all.deb")
    if os.path.exists(path):
        return path
    os.makedirs(debs, exist_ok=True)
    part = path + ".part"
    errors = []
    try:
        with urllib.request.urlopen(POOL_URL, timeout=60) as response, open(part, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
        check_sha256(part)
        os.replace(part, path)
        return path
    except (OSError, SystemExit) as e:
        errors.append(f"{POOL_URL}: {e}")
    finally:
        if os.path.exists(part):
            os.remove(part)
    cmd = ["apt-get", "download", f"{PACKAGE}={VERSION}"]
    try:
        done = subprocess.run(cmd, cwd=debs, capture_output=True, text=True)
        if done.returncode == 0 and os.path.exists(path):
            return path
        errors.append(f"`{' '.join(cmd)}` failed (exit {done.returncode}): {done.stderr.strip()} "
                      "(are the apt package lists present, as after `apt-get update`?)")
    except FileNotFoundError:
        errors.append("`apt-get` not found")
    raise SystemExit(f"could not fetch Debian's {PACKAGE} {VERSION}:\n  " + "\n  ".join(errors) +
                     f"\nDownload {PACKAGE}_{VERSION}_all.deb by other means and pass it with --deb")


def check_sha256(path):
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if digest != DEB_SHA256:
        raise SystemExit(f"{path}: sha256 {digest}, expected {DEB_SHA256} ({PACKAGE} {VERSION})")


def ar_members(data):
    """Members of a Unix ar archive (the .deb container): name -> bytes."""
    if not data.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive (a .deb starts with '!<arch>')")
    members, pos = {}, 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
        members[name] = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size % 2)
    return members


def rcc_files(data):
    """Files of a Qt binary resource (.rcc, format versions 1-3): path -> bytes.

    Layout: 'qres', version, then offsets of the node tree, the data and the names. A tree node is a name
    offset, flags (1 zlib, 2 directory, 4 zstd) and either children (count, first index) or a data offset;
    version 2+ nodes add an 8-byte modification time. A name is its length, a hash and UTF-16BE text."""
    if data[:4] != b"qres":
        raise ValueError("not a Qt resource file (no 'qres' magic)")
    version, tree, blobs, names = struct.unpack(">IIII", data[4:20])
    node_size = 22 if version >= 2 else 14

    def name(offset):
        length, = struct.unpack(">H", data[names + offset:names + offset + 2])
        return data[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    out, stack = {}, [(0, "")]
    while stack:
        index, prefix = stack.pop()
        pos = tree + index * node_size
        name_offset, flags = struct.unpack(">IH", data[pos:pos + 6])
        path = prefix + (name(name_offset) if index else "")
        if flags & 2:
            count, first = struct.unpack(">II", data[pos + 6:pos + 14])
            stack.extend((child, path + "/") for child in range(first, first + count))
            continue
        offset, = struct.unpack(">I", data[pos + 10:pos + 14])
        size, = struct.unpack(">I", data[blobs + offset:blobs + offset + 4])
        blob = data[blobs + offset + 4:blobs + offset + 4 + size]
        if flags & 4:
            raise ValueError(f"{path}: zstd-compressed resource, not supported")
        out[path] = zlib.decompress(blob[4:]) if flags & 1 else blob
    return out


def credits(readme):
    """GCompris's per-folder README (blocks of Copyright/License/Source/Files): file name -> fields."""
    out = {}
    for block in re.split(r"\n\s*\n", readme.strip()):
        fields = dict(re.findall(r"^(Copyright|License|Source): *(.*)$", block, re.M))
        files = block.split("Files:", 1)[1].split() if "Files:" in block else []
        for f in files:
            out[f] = fields
    return out


def photographs(deb_path):
    """(activity, relative name, webp bytes, credit fields) of every photograph in the three activities."""
    data_tar = ar_members(open(deb_path, "rb").read())["data.tar.xz"]
    with tarfile.open(fileobj=io.BytesIO(data_tar), mode="r:xz") as tar:
        rccs = {m.name.rsplit("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers()
                if m.name.startswith(RCC_DIR) and m.name.rsplit("/", 1)[1] in ACTIVITIES}
    for activity in sorted(ACTIVITIES):
        files = rcc_files(rccs[activity])
        readmes = {p.rsplit("/", 1)[0]: credits(b.decode("utf-8")) for p, b in files.items() if p.endswith("/README")}
        for path in sorted(p for p in files if p.endswith(".webp")):
            folder, name = path.rsplit("/", 1)
            # a README names files relative to its own folder (e.g. "usa/cabrillo.webp")
            for base, table in readmes.items():
                entry = os.path.relpath(path, base)
                entry = README_NAMES.get(entry, entry)
                if folder.startswith(base) and entry in table:
                    yield activity, name, files[path], table[entry]
                    break
            else:
                raise ValueError(f"{activity}:{path}: no author/licence entry in its README")


def burst(image, n, seed):
    """n frames from one photograph: crops of 92% of it whose position drifts by a few percent, an exposure
    gain of 0.85-1.15 and Gaussian noise of sigma 3 (8-bit levels), as a hand-held camera burst would differ."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    ch, cw = int(h * 0.92), int(w * 0.92)
    y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    frames = []
    for _ in range(n):
        y = int(np.clip(y + rng.integers(-h // 40, h // 40 + 1), 0, h - ch))
        x = int(np.clip(x + rng.integers(-w // 40, w // 40 + 1), 0, w - cw))
        crop = image[y:y + ch, x:x + cw].astype(np.float32) * rng.uniform(0.85, 1.15)
        crop += rng.normal(0, 3, crop.shape)
        frames.append(np.clip(crop, 0, 255).astype(np.uint8))
    return frames


def build(out, deb_path, frames=3):
    check_sha256(deb_path)
    for folder in {f for f, _ in ACTIVITIES.values()}:  # frames of an earlier run with another --frames
        shutil.rmtree(os.path.join(out, folder), ignore_errors=True)
    rows = []
    for activity, name, webp, credit in photographs(deb_path):
        folder, is_animal = ACTIVITIES[activity]
        image = cv2.imdecode(np.frombuffer(webp, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{activity}:{name}: OpenCV cannot decode this WebP image")
        stem = name[:-len(".webp")]
        sequence = f"{folder}_{stem}"
        licence = LICENSES.get(credit.get("License", ""), credit.get("License", "unknown"))
        source = (f"{credit.get('Source', '?')} by {credit.get('Copyright', '?')}, via Debian {PACKAGE} {VERSION} "
                  f"({activity[:-4]}/{name})")
        os.makedirs(os.path.join(out, folder), exist_ok=True)
        for i, frame in enumerate(burst(image, frames, zlib.crc32(sequence.encode()))):
            path = f"{folder}/{stem}_{i + 1}.jpg"
            if not cv2.imwrite(os.path.join(out, path), frame, [cv2.IMWRITE_JPEG_QUALITY, 90]):
                raise OSError(f"could not write {os.path.join(out, path)}")
            rows.append({"path": path, "species": stem if is_animal else "blank", "is_animal": is_animal,
                         "sequence": sequence,
                         "source": f"{source}; synthetic burst frame {i + 1}/{frames}", "license": licence})
    labels = pd.DataFrame(rows)
    labels.to_csv(os.path.join(out, "labels.csv"), index=False)
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(f"# Animal or no animal: {labels.sequence.nunique()} real photographs, {len(labels)} frames\n\n"
                f"Written by examples/sample_data.py from Debian's {PACKAGE} {VERSION} (GCompris photographs "
                "from Wikimedia Commons; author, licence and source page of each in labels.csv).\n"
                f"Each photograph is a synthetic burst of {frames} frames (shifted crops, exposure, noise): "
                "the sequences are not real camera-trap bursts.\n")
    return labels


def ensure(out=DEFAULT_OUT, frames=3, deb=None):
    """The sample folder at `out`, built unless a complete one with the same settings is there; returns its
    labels (the frames' labels.csv) and whether it was built now."""
    stamp = os.path.join(out, ".complete")
    settings = f"{PACKAGE} {VERSION} frames={frames}\n"
    if os.path.exists(stamp) and open(stamp).read() == settings:
        return pd.read_csv(os.path.join(out, "labels.csv")), False
    labels = build(out, deb or fetch_deb(), frames)
    with open(stamp, "w") as f:
        f.write(settings)
    return labels, True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--frames", type=int, default=3, help="frames per synthetic burst")
    parser.add_argument("--deb", help=f"a local {PACKAGE}_{VERSION}_all.deb instead of apt-get download")
    args = parser.parse_args()
    if args.frames < 1:
        parser.error(f"--frames must be at least 1, got {args.frames}")
    out = os.path.realpath(args.out)
    labels, built = ensure(out, args.frames, args.deb)
    photos = labels.drop_duplicates("sequence")
    print(f"sample data{'' if built else ' (cached)'}: {out}: {len(labels)} frames of {len(photos)} real photographs "
          f"({int(photos.is_animal.sum())} animal, {int((photos.is_animal == 0).sum())} no animal) from Debian "
          f"{PACKAGE} {VERSION}, {args.frames} synthetic burst frames each (shifted crops, exposure, noise: not "
          f"real bursts); licences: {', '.join(f'{k} {v}' for k, v in photos.license.value_counts().items())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
