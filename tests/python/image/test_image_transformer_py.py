"""The Python side of the image stages: fluent ImageTransformer (same strings as Scala's), its save/load
round trip alone and inside a Pipeline, validation errors, and ImageDecoder.readImages."""

import json

import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.sql import functions as F

from image_data import CAMERA_TRAPS, camera_trap_files, files_frame


def fluent():
    from irbis.image import ImageTransformer

    return (ImageTransformer(inputCol="content", outputCol="tensor")
            .resizeShortSide(64).centerCrop(56, 48).flip("horizontal").gaussianBlur(3, 0.5)
            .threshold(250, 255, "toZeroInv").convertColor("RGB")
            .normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225], 1 / 255).toTensor("HWC", "BGR"))


def test_fluent_python_stores_what_fluent_scala_stores(spark):
    jvm = spark._jvm
    scala = (jvm.irbis.image.ImageTransformer().resizeShortSide(64, "linear").centerCrop(56, 48).flip("horizontal")
             .gaussianBlur(3, 0.5).threshold(250.0, 255.0, "toZeroInv", "fixed").convertColor("RGB"))
    ops = list(fluent().getOperations())
    assert ops[:6] == list(scala.getOperations())
    assert json.loads(ops[-2]) == {"op": "normalize", "mean": [0.485, 0.456, 0.406],
                                   "std": [0.229, 0.224, 0.225], "scale": 1 / 255}
    assert json.loads(ops[-1]) == {"op": "toTensor", "layout": "HWC", "channelOrder": "BGR"}
    assert fluent().clearOperations().getOperations() == []


def test_a_bad_operation_fails_at_the_call_that_adds_it():
    from irbis.image import ImageTransformer

    with pytest.raises(Exception, match=r"operations\[0\] \(flip\): field 'mode' must be one of horizontal"):
        ImageTransformer().flip("sideways")
    with pytest.raises(Exception, match=r"field 'height' must be an integer >= 1, got 0"):
        ImageTransformer().centerCrop(0, 5)
    with pytest.raises(Exception, match=r"operations\[0\] \(toTensor\) must be the last operation"):
        ImageTransformer(operations=['{"op":"toTensor"}', '{"op":"flip","mode":"both"}'])
    with pytest.raises(Exception, match=r"operations\[1\] \(resize\): field 'shortSide' must be an integer"):
        ImageTransformer().setOperations(['{"op":"flip","mode":"both"}', '{"op":"resize","shortSide":"big"}'])


def test_save_load_round_trip_of_a_fluent_transformer(spark, tmp_path):
    from irbis.image import ImageTransformer

    files = files_frame(spark, camera_trap_files()[:6])
    stage = fluent()
    expected = sorted(stage.transform(files).select("path", "tensor", "error").collect())
    stage.save(str(tmp_path / "stage"))
    loaded = ImageTransformer.load(str(tmp_path / "stage"))
    assert isinstance(loaded, ImageTransformer) and loaded.getOperations() == stage.getOperations()
    assert sorted(loaded.transform(files).select("path", "tensor", "error").collect()) == expected
    model = Pipeline(stages=[stage]).fit(files)
    model.save(str(tmp_path / "model"))
    reloaded = PipelineModel.load(str(tmp_path / "model"))
    assert reloaded.stages[0].getOperations() == stage.getOperations()
    assert sorted(reloaded.transform(files).select("path", "tensor", "error").collect()) == expected
    # a loaded list stays a fluent list: nothing may follow toTensor, but it can be rebuilt
    with pytest.raises(Exception, match=r"\(toTensor\) must be the last operation"):
        loaded.flip("both")
    assert loaded.clearOperations().flip("both").getOperations() == ['{"op":"flip","mode":"both"}']
    files.unpersist()


def test_read_images_recursive_sampled_and_decoded(spark):
    from irbis.image import ImageDecoder

    decoder = ImageDecoder(colorMode="grayscale", outputCol="img")
    everything = decoder.readImages(spark, str(CAMERA_TRAPS))
    assert everything.columns == ["path", "modificationTime", "length", "img", "error"]
    assert everything.count() == len(camera_trap_files())
    assert everything.where(F.col("img.nChannels") == 1).count() == len(camera_trap_files()) - 1
    sample = decoder.readImages(spark, str(CAMERA_TRAPS), sampleRatio=0.3, seed=3)
    again = decoder.readImages(spark, str(CAMERA_TRAPS), sampleRatio=0.3, seed=3)
    chosen = {r.path for r in sample.select("path").collect()}
    assert chosen == {r.path for r in again.select("path").collect()}
    assert 0 < len(chosen) < len(camera_trap_files())
    leopards = decoder.readImages(spark, str(CAMERA_TRAPS / "snow_leopard"), recursive=False,
                                  pathGlobFilter="avgarch_2012-12-31_*")
    assert leopards.count() == 4
