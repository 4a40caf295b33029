"""The camera-trap example (examples/camera_traps.py), its notebook and its offline sample data.

On the 44 shared camera-trap photographs (../shared/data/camera-traps, snow leopard or not, 16 real bursts),
cross-validated by sequence, the example's accuracy table must show what the example is about: deep features beat
raw pixels, sequence ensembling is no worse than per-frame predictions, and LightGBM on the deep features learns
more than the majority class. The notebook runs the example's
steps once, in its own kernel (nbclient); the tests read what it printed and the predictions it wrote.
"""

import importlib.util
import json

import cv2
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

from conftest import ROOT, subprocess_env
from image_data import CAMERA_TRAPS

EXAMPLES = ROOT / "examples"
NEEDS_SHARED = pytest.mark.skipif(not (CAMERA_TRAPS / "labels.csv").exists(),
                                  reason=f"the shared camera-trap photographs are not at {CAMERA_TRAPS}")


FOLDS = 2


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"_irbis_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def frame_accuracy(table, model):
    return float(table.set_index("model").loc[model, "frame acc"])


@pytest.fixture(scope="module")
def ct():
    return load_example("camera_traps")


def cell_text(nb, startswith):
    """The printed and displayed text of the code cell whose source starts so."""
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(startswith))
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """examples/camera_traps.ipynb in a fresh kernel (its own Spark), 2 folds by sequence on the shared data: the
    example's own steps, as a user runs them. Its predictions come back through the predictions.csv it writes.
    Two folds, as the Scala and R examples run: leave-one-sequence-out (the script's default) is only another fold
    assignment (`fold_assignment(.., None)`, tested on its own) and would fit 16 folds x 3 logistic regressions
    instead of 2 x 3."""
    import nbformat
    from nbclient import NotebookClient

    if not (CAMERA_TRAPS / "labels.csv").exists():
        pytest.skip(f"the shared camera-trap photographs are not at {CAMERA_TRAPS}")
    out = tmp_path_factory.mktemp("camera-traps")
    nb = nbformat.read(EXAMPLES / "camera_traps.ipynb", as_version=4)
    env = subprocess_env()
    env.update(IRBIS_CAMERA_TRAPS_DATA=str(CAMERA_TRAPS), IRBIS_CAMERA_TRAPS_FOLDS=str(FOLDS), IRBIS_CAMERA_TRAPS_OUT=str(out))
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}})
    client.execute(env=env)  # passed on to the kernel's process; a cell's error raises here
    table_cell = next(c for c in nb.cells if "accuracy-table" in c.metadata.get("tags", []))
    preds = pd.read_csv(out / "predictions.csv")
    return {"nb": nb, "out": out, "preds": preds,
            "table": next(o for o in table_cell.outputs if o.output_type == "execute_result").data["text/plain"]}


def notebook_accuracy(text, ct):
    """Frame accuracy per model, read from the table the notebook displays."""
    accuracy = {}
    for model in ct.MODELS:
        line = next(line for line in text.splitlines() if model in line)
        accuracy[model] = float(line.split(model, 1)[1].split()[0])
    return accuracy


@NEEDS_SHARED
def test_cross_validation_covers_every_usable_frame_once_per_model(run, ct):
    preds = run["preds"]
    # the truncated JPEG is reported and dropped; the other 44 labelled frames are scored by every model
    report = cell_text(run["nb"], "prepared = ct.prepare")
    assert "44 usable frames in 16 sequences" in report and "truncated" in report, report
    assert "label column 'is_snow_leopard'" in cell_text(run["nb"], "spark = ct.start_spark()")
    assert sorted(preds.groupby("model").size().to_dict().items()) == [(m, 44) for m in ct.MODELS]
    assert preds.groupby(["model", "relpath"]).size().max() == 1
    # each sequence is held out in exactly one fold, and only there
    assert (preds.groupby("sequence").fold.nunique() == 1).all()
    assert preds.fold.nunique() == FOLDS and preds.sequence.nunique() == 16


def test_fold_assignment_leave_one_sequence_out_and_k_folds_keep_both_classes_in_training(ct):
    sequences = {f"s{i:02d}": float(i % 3 == 0) for i in range(16)}  # 6 positive sequences, 10 negative
    loso = ct.fold_assignment(sequences, None)
    assert sorted(loso) == sorted(sequences) and sorted(loso.values()) == list(range(16))
    for k in (2, 3, 5):
        folds = ct.fold_assignment(sequences, k)
        assert sorted(folds) == sorted(sequences) and set(folds.values()) == set(range(k))
        for fold in range(k):
            training = {sequences[s] for s, f in folds.items() if f != fold}
            assert training == {0.0, 1.0}, (k, fold)
    assert ct.scheme_name(None) == "leave-one-sequence-out" and ct.scheme_name(2).startswith("2-fold by sequence")


@NEEDS_SHARED
def test_deep_features_beat_raw_pixels(run, ct):
    table = ct.summarize(run["preds"], "snow_leopard")
    print("\n" + ct.format_table(table))
    assert frame_accuracy(table, ct.MODELS[1]) > frame_accuracy(table, ct.MODELS[0])
    # the table the notebook shows is the one its predictions give
    shown = notebook_accuracy(run["table"], ct)
    for model in ct.MODELS:
        assert shown[model] == pytest.approx(frame_accuracy(table, model), abs=1e-6), model


@NEEDS_SHARED
def test_sequence_ensembling_is_no_worse_than_per_frame(run, ct):
    table = ct.summarize(run["preds"], "snow_leopard")
    assert frame_accuracy(table, ct.MODELS[3]) >= frame_accuracy(table, ct.MODELS[2])
    # model 4 gives every frame of a held-out sequence its mean probability over model 3's frames
    preds = run["preds"].set_index(["model", "relpath"]).p
    m3, m4 = preds[ct.MODELS[2]], preds[ct.MODELS[3]]
    seq = run["preds"].drop_duplicates("relpath").set_index("relpath").sequence
    expected = m3.groupby(seq).transform("mean")
    np.testing.assert_allclose(m4.sort_index(), expected.sort_index(), atol=1e-12)


@NEEDS_SHARED
def test_lightgbm_on_the_deep_features_learns_from_a_few_dozen_frames(run, ct):
    """Model 5: LightGBM's trees split on the deep features of a fold's training frames (4 leaves, at least 3 frames
    a leaf): the held-out probabilities differ within a fold, and it beats always answering the majority class."""
    preds = run["preds"][run["preds"].model == ct.MODELS[4]]
    assert preds.p.between(0, 1).all()
    assert (preds.groupby("fold").p.nunique() > 1).all()  # a model without a split gives every frame one value
    majority = max(preds.label.mean(), 1 - preds.label.mean())
    assert (preds.pred == preds.label).mean() > majority


@NEEDS_SHARED
def test_confusion_png_shows_the_counts_of_model_4(run, ct, tmp_path):
    assert (run["out"] / "confusion_model4.png").exists()  # the notebook's
    preds = run["preds"][run["preds"].model == ct.MODELS[3]]
    path = str(tmp_path / "confusion.png")
    cm = ct.confusion_png(preds, path, "model 4", "snow_leopard")
    np.testing.assert_array_equal(cm, confusion_matrix(preds.label, preds.pred, labels=[0, 1]))
    image = cv2.imread(path)
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 200
    assert image.std() > 10  # drawn cells and text, not a blank picture


@NEEDS_SHARED
def test_saved_pipeline_predicts_as_before_and_as_the_cached_features(run):
    # the notebook asserts check.identical and check.cache_diff < 1e-6 itself (an assertion error fails the run)
    text = cell_text(run["nb"], "check = ct.save_load_check")
    assert "reloaded predicts identically: True" in text, text
    saved = run["out"] / "camera-traps-model4"
    assert (saved / "stages").is_dir()
    metadata = [next((d / "metadata").glob("part-*")) for d in sorted((saved / "stages").iterdir())]
    classes = [json.loads(m.read_text().splitlines()[0])["class"].rsplit(".", 1)[-1] for m in metadata]
    assert classes == ["ImageFeaturizer", "LogisticRegressionModel", "EnsembleByKey"], classes


def test_bad_labels_files_are_refused_with_the_row_and_column(ct, tmp_path):
    (tmp_path / "labels.csv").write_text("path,sequence,is_fox\na.jpg,s1,1\nb.jpg,s1,yes\n")
    with pytest.raises(ValueError, match=r"column is_fox must be 0 or 1; data row 2 \(b.jpg\) has 'yes'"):
        ct.load_labels(str(tmp_path))
    (tmp_path / "labels.csv").write_text("path,sequence,is_fox\na.jpg,s1,1\nb.jpg,s1,0\n")
    with pytest.raises(ValueError, match=r"sequences with both labels in is_fox: \['s1'\]"):
        ct.load_labels(str(tmp_path))
    (tmp_path / "labels.csv").write_text("path,sequence,is_fox,is_cat\na.jpg,s1,1,0\n")
    with pytest.raises(ValueError, match=r"exactly one 0/1 label column named is_<class>.*is_fox.*is_cat"):
        ct.load_labels(str(tmp_path))
    assert ct.load_labels(str(tmp_path), "is_cat").positive == "cat"
    (tmp_path / "labels.csv").write_text("file,is_fox\na.jpg,1\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['path', 'sequence'\]"):
        ct.load_labels(str(tmp_path))


def test_sample_data_is_real_credited_photographs_in_synthetic_bursts(ct, tmp_path):
    """What `make demo` runs on: examples/sample_data.py on Debian's gcompris-qt-data (fetched into
    ~/.cache/irbis/debs by apt-get download, or already there)."""
    from PIL import Image

    sd = load_example("sample_data")
    try:
        deb = sd.fetch_deb()
    except SystemExit as e:
        pytest.skip(f"cannot fetch the Debian package: {e}")
    labels, built = sd.ensure(str(tmp_path), frames=2, deb=deb)
    assert built
    photos = labels.drop_duplicates("sequence")
    assert (len(photos), int(photos.is_animal.sum())) == (73, 24)
    assert (labels.groupby("sequence").size() == 2).all()
    assert set(labels.license) <= {"public-domain", "CC0-1.0", "CC-BY-SA-4.0"}
    assert labels.source.str.startswith("https://commons.wikimedia.org/wiki/File:").all()
    assert set(labels.species[labels.is_animal == 0]) == {"blank"}
    assert {"jaguar", "polar_bear", "cow"} <= set(labels.species)
    for path in labels.path:
        with Image.open(tmp_path / path) as im:  # Pillow, not the OpenCV that wrote them
            assert im.format == "JPEG" and min(im.size) > 300
    # the two frames of a burst are the same scene, slightly moved; different photographs are not
    def small(path):
        return np.asarray(Image.open(tmp_path / path).convert("L").resize((64, 48)), dtype=float).ravel()
    pairs = [[small(p) for p in g.path] for _, g in labels.groupby("sequence")]
    within = [np.corrcoef(a, b)[0, 1] for a, b in pairs]
    between = [np.corrcoef(pairs[i][0], pairs[i + 1][0])[0, 1] for i in range(len(pairs) - 1)]
    assert np.median(within) > 0.8 and np.median(between) < 0.4, (np.median(within), np.median(between))
    # the example reads it as is: is_animal is the label column
    assert ct.load_labels(str(tmp_path)).positive == "animal"
    assert sd.ensure(str(tmp_path), frames=2, deb=deb)[1] is False  # reused, not rebuilt


@NEEDS_SHARED
def test_script_runs_end_to_end_as_make_demo_runs_it(tmp_path):
    """`python examples/camera_traps.py --data DIR --folds 2` (what `make demo` runs, there on the sample
    photographs) in a fresh process, on four shared sequences: exit status 0 means the save/load and cache checks
    passed; the table lists the five models."""
    import shutil
    import subprocess
    import sys

    labels = pd.read_csv(CAMERA_TRAPS / "labels.csv")
    keep = [s for value in (1, 0) for s in labels[labels.is_snow_leopard == value].sequence.unique()[:2]]
    subset = labels[labels.sequence.isin(keep)]
    data = tmp_path / "data"
    for path in subset.path:
        (data / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CAMERA_TRAPS / path, data / path)
    subset.to_csv(data / "labels.csv", index=False)
    proc = subprocess.run([sys.executable, str(EXAMPLES / "camera_traps.py"), "--data", str(data), "--folds", "2",
                           "--out", str(tmp_path / "out")], env=subprocess_env(), capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"{len(subset)} frames, 4 sequences" in proc.stdout, proc.stdout
    for model in load_example("camera_traps").MODELS:
        assert model in proc.stdout
    assert (tmp_path / "out" / "confusion_model4.png").exists()
