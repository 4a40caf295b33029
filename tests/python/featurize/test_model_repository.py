"""The model catalogue and downloader from Python: real transfers from a local http.server, local and Hadoop
paths, digests checked with hashlib, features checked against onnxruntime, and the EfficientNet-Lite0
converter path of the default catalogue."""

import hashlib
import http.server
import json
import os
import pathlib
import subprocess
import sys
import threading
import time

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from conftest import ROOT, subprocess_env
from image_data import camera_trap_files, files_frame

SHARED_MODEL = ROOT.parent / "shared" / "models" / "efficientnet_lite0.onnx"
# As ../shared/models/README.md gives it (the file has no metadata).
SHARED_PREPROCESSING = {"inputSize": 224, "resizeShortSide": 256, "channelOrder": "RGB", "scale": 1 / 255,
                        "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "layout": "CHW"}

pytestmark = pytest.mark.skipif(not SHARED_MODEL.exists(), reason="needs ../shared/models")


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shared_schema(uri, name="Lite0", **changes):
    from irbis.models import ModelSchema
    fields = dict(name=name, uri=str(uri), sha256=sha256(SHARED_MODEL), size=SHARED_MODEL.stat().st_size,
                  inputNode="input", layerNames=("logits", "features"), modelType="image-classifier",
                  dataset="ImageNet-1k", preprocessing=SHARED_PREPROCESSING, license="Apache-2.0")
    fields.update(changes)
    return ModelSchema(**fields)


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/model.onnx":
            return self._send(self.body, chunk=1 << 20, pause=0.03)  # about 0.6 s: the bar redraws
        if self.path == "/cut.onnx":  # announces the whole file, sends a third, hangs up
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body[:len(self.body) // 3])
            self.wfile.flush()
            self.close_connection = True
            return None
        if self.path == "/other.onnx":
            return self._send(self.body[::-1])
        self.send_error(404, "no such model")
        return None

    def _send(self, data, chunk=1 << 24, pause=0.0):
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        for i in range(0, len(data), chunk):
            self.wfile.write(data[i:i + chunk])
            time.sleep(pause)


@pytest.fixture(scope="module")
def server():
    _Handler.body = SHARED_MODEL.read_bytes()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def downloader(spark, target, **kw):
    from irbis.models import ModelDownloader
    return ModelDownloader(spark, target, **kw)


def test_catalogue_round_trips_and_lists_the_default_model(spark, tmp_path):
    from irbis.models import ModelRepository, ModelSchema
    bundled = ModelRepository.bundled(spark)
    assert [m.name for m in bundled.listModels()] == ["EfficientNetLite0"]
    lite0 = bundled.get("EfficientNetLite0")
    assert lite0.isConverted and lite0.uri == "convert:irbis.models.efficientnet_lite"
    repo = bundled.withModel(shared_schema(SHARED_MODEL))
    assert ModelRepository.from_json(repo.to_json(), spark) == repo
    repo.save(tmp_path / "catalogue.json")
    loaded = ModelRepository.load(f"file://{tmp_path / 'catalogue.json'}", spark)
    assert loaded == repo and loaded.listModels() == repo.listModels()
    assert loaded.get("Lite0") == shared_schema(SHARED_MODEL)
    assert ModelSchema.from_json(lite0.to_json()) == lite0
    with pytest.raises(KeyError, match="the catalogue has no model named 'Nope'; it has: EfficientNetLite0, Lite0"):
        loaded.get("Nope")
    with pytest.raises(ValueError, match="model 'Lite0': sha256 must be 64 lower-case hex digits, got 'xyz'"):
        ModelRepository.of([shared_schema(SHARED_MODEL, sha256="xyz")], spark)


def test_http_download_verifies_and_draws_a_progress_bar(spark, server, tmp_path, capsys):
    got = downloader(spark, tmp_path).downloadModel(shared_schema(f"{server}/model.onnx"))
    err = capsys.readouterr().err
    assert got.uri == f"file:{tmp_path}/Lite0.onnx"
    assert sha256(tmp_path / "Lite0.onnx") == sha256(SHARED_MODEL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Lite0.onnx"]
    frames = [f for f in err.split("\r") if f]
    assert frames[-1].startswith("Lite0 [" + "#" * 30 + "] 100.0%") and frames[-1].endswith(" 18.6/18.6 MB\n"), err
    assert len(frames) >= 3 and any("%" in f and "100.0%" not in f for f in frames), err
    # A verified file is reused: no transfer, no bar.
    downloader(spark, tmp_path).downloadModel(shared_schema(f"{server}/model.onnx"))
    assert capsys.readouterr().err == ""


def test_local_and_hadoop_paths(spark, tmp_path):
    local = downloader(spark, tmp_path / "a", progress=False).downloadModel(shared_schema(SHARED_MODEL))
    assert sha256(tmp_path / "a" / "Lite0.onnx") == sha256(SHARED_MODEL) and local.uri.endswith("/a/Lite0.onnx")
    hadoop = downloader(spark, f"file://{tmp_path}/b/c", progress=False).downloadModel(
        shared_schema(f"file://{SHARED_MODEL}"))
    assert hadoop.uri == f"file:{tmp_path}/b/c/Lite0.onnx" and sha256(tmp_path / "b" / "c" / "Lite0.onnx") == sha256(SHARED_MODEL)


def test_sha_mismatch_404_and_interrupted_downloads_leave_nothing(spark, server, tmp_path):
    from irbis.models import ModelDownloadError
    d = downloader(spark, tmp_path, progress=False)
    wrong = hashlib.sha256(SHARED_MODEL.read_bytes()[::-1]).hexdigest()
    with pytest.raises(ModelDownloadError) as e:
        d.downloadModel(shared_schema(f"{server}/other.onnx"))
    assert str(e.value) == (f"model 'Lite0': SHA-256 mismatch for {server}/other.onnx: expected "
                            f"{sha256(SHARED_MODEL)}, got {wrong}; the file was not kept")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ModelDownloadError, match=f"model 'Lite0': HTTP 404 no such model from {server}/gone.onnx"):
        d.downloadModel(shared_schema(f"{server}/gone.onnx"))
    with pytest.raises(ModelDownloadError, match="^model 'Lite0': "):
        d.downloadModel(shared_schema(f"{server}/cut.onnx"))
    assert list(tmp_path.iterdir()) == []
    assert not d.isDownloaded(shared_schema(f"{server}/model.onnx"))
    d.downloadModel(shared_schema(f"{server}/model.onnx"))
    assert d.isDownloaded(shared_schema(f"{server}/model.onnx"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Lite0.onnx"]


def test_a_model_changed_after_download_is_refused_at_use(spark, tmp_path):
    from irbis.featurize import ImageFeaturizer
    from irbis.models import ModelDownloadError
    schema = downloader(spark, tmp_path, progress=False).downloadModel(shared_schema(SHARED_MODEL))
    path = tmp_path / "Lite0.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))  # unmistakably another version
    with pytest.raises(ModelDownloadError) as e:
        ImageFeaturizer(inputCol="content").setModel(schema)
    assert str(e.value) == (f"model 'Lite0': {schema.uri} has SHA-256 {hashlib.sha256(data).hexdigest()}, the "
                            f"catalogue says {sha256(SHARED_MODEL)}: it changed after it was downloaded; it is not "
                            "used. Download it again (ModelDownloader.downloadByName replaces a file that does not "
                            "verify)")
    downloader(spark, tmp_path, progress=False).downloadModel(shared_schema(SHARED_MODEL))
    assert ImageFeaturizer(inputCol="content").setModel(schema).getOrDefault("modelLocation") == schema.uri


def _features(df, stage):
    return {r["path"]: r["features"].toArray() for r in stage.transform(df).select("path", "features").collect()}


@pytest.fixture(scope="module")
def images(spark):
    files = [p for p in camera_trap_files() if "malformed" not in p.parts][:4]
    return files_frame(spark, files)


def test_downloaded_model_loads_straight_into_image_featurizer(spark, server, tmp_path, images):
    from irbis.featurize import ImageFeaturizer
    schema = downloader(spark, tmp_path, progress=False).downloadModel(shared_schema(f"{server}/model.onnx"))
    stage = ImageFeaturizer(inputCol="content").setModel(schema)
    assert stage.getOrDefault("modelLocation") == schema.uri and stage.getOrDefault("mean") == [0.5, 0.5, 0.5]
    params = {k: v for k, v in SHARED_PREPROCESSING.items() if k != "layout"}
    reference = ImageFeaturizer(inputCol="content", modelLocation=str(SHARED_MODEL), **params)
    got, want = _features(images, stage), _features(images, reference)
    assert len(got) == 4 and got.keys() == want.keys()
    for path in got:
        assert got[path].shape == (1280,) and np.array_equal(got[path], want[path])


def _layers_back(model, count):
    """Walks back from the output through each node's first non-constant input (what cutOutputLayers does)."""
    inits = {i.name for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    names = [model.graph.output[0].name]
    while len(names) < count:
        names.append(next(i for i in producer[names[-1]].input if i and i not in inits))
    return names


def test_convert_entry_makes_the_catalogued_file_that_image_featurizer_loads(spark, tmp_path, images):
    from irbis.featurize import ImageFeaturizer
    from irbis.models import ModelDownloadError, ModelRepository
    entry = ModelRepository.bundled(spark).get("EfficientNetLite0")
    target = tmp_path / "models"
    # The JVM alone cannot make it, and says how.
    jvm = spark._jvm.irbis.featurize.ModelDownloader(spark._jsparkSession, str(target))
    with pytest.raises(Exception, match="downloadByName\\('EfficientNetLite0'\\)"):
        jvm.downloadByName("EfficientNetLite0")

    schema = downloader(spark, target, progress=False).downloadByName("EfficientNetLite0")
    made = target / "EfficientNetLite0.onnx"
    assert schema.uri == f"file:{made}" and sha256(made) == entry.sha256 and made.stat().st_size == entry.size
    assert bool(jvm.isDownloaded(jvm.repository().get("EfficientNetLite0")))  # now Scala and R reuse it
    # The converter is deterministic: a fresh process converts to the catalogued digest.
    again = tmp_path / "again.onnx"
    subprocess.run([sys.executable, "-m", "irbis.models.efficientnet_lite", "--out", str(again)],
                   check=True, env=subprocess_env(), capture_output=True)
    assert sha256(again) == entry.sha256
    model = onnx.load(str(made))
    assert list(entry.layerNames) == _layers_back(model, len(entry.layerNames))
    assert entry.inputNode == model.graph.input[0].name
    assert entry.preprocessing == json.loads({p.key: p.value for p in model.metadata_props}["preprocessing"])

    features = _features(images, ImageFeaturizer(inputCol="content").setModel(schema))
    # Reference: onnxruntime on the converted graph with its features exposed, fed cv2-made tensors.
    from test_image_featurizer import preprocess
    exposed = onnx.load(str(made))
    exposed.graph.output.extend([onnx.helper.make_tensor_value_info("features", onnx.TensorProto.FLOAT, ["N", 1280])])
    session = ort.InferenceSession(exposed.SerializeToString(), providers=["CPUExecutionProvider"])
    for path, vector in features.items():
        want = session.run(["features"], {"input": preprocess(pathlib.Path(path))[None]})[0][0]
        assert np.abs(vector - want).max() < 1e-4, path

    with pytest.raises(ModelDownloadError):
        downloader(spark, tmp_path / "bad", progress=False).downloadModel(entry.withUri("file:/nonexistent.onnx"))
