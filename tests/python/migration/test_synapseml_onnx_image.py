"""SynapseML's documented calls on ONNXModel and ImageTransformer, with only the imports changed
(``synapse.ml.onnx`` -> ``irbis.onnx``, ``synapse.ml.opencv`` -> ``irbis.image``), on the project's own models
and camera-trap photographs. Every result is checked against an independent reference: onnxruntime's Python API
for model outputs, opencv-python (and numpy) for image operations. docs/MIGRATING_FROM_SYNAPSEML.md lists where
Irbis differs on purpose (blur, gaussianKernel, sliced outputs).
"""

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import onnx_models
from image_data import CAMERA_TRAPS, camera_trap_files, files_frame

PHOTOS = ("other/ocelot.jpg", "other/human.jpg", "snow_leopard/avgarch_2012-12-29_23-33-45.jpg")
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


@pytest.fixture(scope="module")
def images(spark):
    """The photographs decoded by Irbis (the input SynapseML's examples read with spark.read.image())."""
    from irbis.image import ImageDecoder

    camera_trap_files()  # skips when the data is absent
    paths = [CAMERA_TRAPS / p for p in PHOTOS]
    return ImageDecoder(inputCol="content", outputCol="image").transform(files_frame(spark, paths)).cache()


def decoded(path: str) -> np.ndarray:
    return cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)


def results(transformer, images):
    """path -> the transformed image as toNDArray gives it (RGB, or one grey channel)."""
    from irbis.image import toNDArray

    rows = transformer.setInputCol("image").setOutputCol("out").transform(images).select("path", "out").collect()
    return {r["path"]: toNDArray(r["out"]) for r in rows}


def as_rgb(bgr_or_gray: np.ndarray) -> np.ndarray:
    """The reference in toNDArray's layout."""
    if bgr_or_gray.ndim == 2:
        return bgr_or_gray[:, :, None]
    return cv2.cvtColor(bgr_or_gray, cv2.COLOR_BGR2RGB)


def check_images(transformer, images, reference):
    got = results(transformer, images)
    assert len(got) == len(PHOTOS)
    for path, array in got.items():
        expected = as_rgb(reference(decoded(path)))
        assert array.shape == expected.shape, path
        assert np.array_equal(array, expected), path


def small(img: np.ndarray) -> np.ndarray:
    return cv2.resize(img, (240, 180))  # cv2 and SynapseML's size tuple are (width, height)


def test_to_nd_array_is_rgb_height_width_channels(images):
    from irbis.image import toNDArray

    for row in images.select("path", "image").collect():
        assert np.array_equal(toNDArray(row["image"]), as_rgb(decoded(row["path"])))


def test_resize_forms(images):
    from irbis.image import ImageTransformer

    def short_side(img, n):
        h, w = img.shape[:2]
        return cv2.resize(img, (n * w // h, n) if h <= w else (n, n * h // w))

    check_images(ImageTransformer().resize(224, True), images, lambda i: short_side(i, 224))
    check_images(ImageTransformer().resize(size=(240, 180)), images, small)
    check_images(ImageTransformer().resize(height=15, width=10), images, lambda i: cv2.resize(i, (10, 15)))
    check_images(ImageTransformer().resize(size=(200, 200)).crop(0, 0, height=180, width=180), images,
                 lambda i: cv2.resize(i, (200, 200))[:180, :180])


def test_crop_takes_height_before_width(images):
    from irbis.image import ImageTransformer

    check_images(ImageTransformer().resize(size=(240, 180)).crop(10, 20, 100, 150), images,
                 lambda i: small(i)[20:120, 10:160])


def test_color_format_threshold_flip(images):
    from irbis.image import ImageTransformer

    check_images(ImageTransformer().resize(size=(240, 180)).colorFormat(cv2.COLOR_BGR2GRAY), images,
                 lambda i: cv2.cvtColor(small(i), cv2.COLOR_BGR2GRAY))
    check_images(ImageTransformer().resize(size=(240, 180)).threshold(100.0, 255.0, cv2.THRESH_BINARY), images,
                 lambda i: cv2.threshold(small(i), 100.0, 255.0, cv2.THRESH_BINARY)[1])
    check_images(ImageTransformer().resize(size=(240, 180)).flip(), images, lambda i: cv2.flip(small(i), 1))
    check_images(ImageTransformer().resize(size=(240, 180)).flip(1), images, lambda i: cv2.flip(small(i), 1))
    check_images(ImageTransformer().resize(size=(240, 180)).flip(0), images, lambda i: cv2.flip(small(i), 0))


def test_blur_and_gaussian_kernel_do_what_the_docs_say(images):
    from irbis.image import ImageTransformer

    check_images(ImageTransformer().resize(size=(240, 180)).blur(5.0, 5.0), images, lambda i: cv2.blur(small(i), (5, 5)))
    # height 3, width 7: cv2 takes the kernel as (width, height); SynapseML's own code passes them swapped
    check_images(ImageTransformer().resize(size=(240, 180)).blur(3.0, 7.0), images, lambda i: cv2.blur(small(i), (7, 3)))
    # a 2-D Gaussian (SynapseML's own code convolves with the 1-D kernel vertically only)
    check_images(ImageTransformer().resize(size=(240, 180)).gaussianKernel(5, 1.0), images,
                 lambda i: cv2.GaussianBlur(small(i), (5, 5), 1.0))


def test_normalize_to_float_tensor_as_documented(images):
    from pyspark.sql.types import FloatType

    from irbis.image import ImageTransformer

    it = (ImageTransformer(inputCol="image", outputCol="features")
          .resize(224, True)
          .centerCrop(height=224, width=224)
          .normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD, color_scale_factor=1 / 255)
          .setTensorElementType(FloatType()))
    rows = it.transform(images).select("path", "features").collect()
    assert len(rows) == len(PHOTOS)
    for row in rows:
        img = decoded(row["path"])
        h, w = img.shape[:2]
        img = cv2.resize(img, (224 * w // h, 224) if h <= w else (224, 224 * h // w))
        y, x = (img.shape[0] - 224) // 2, (img.shape[1] - 224) // 2
        rgb = cv2.cvtColor(img[y:y + 224, x:x + 224], cv2.COLOR_BGR2RGB).astype(np.float32)
        expected = ((rgb * np.float32(1 / 255) - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD)).transpose(2, 0, 1)
        np.testing.assert_allclose(np.array(row["features"], np.float32), expected.ravel(), rtol=0, atol=1e-6)


def test_tensor_element_type_other_than_float_says_what_to_write():
    from pyspark.sql.types import DoubleType

    from irbis.image import ImageTransformer

    with pytest.raises(Exception, match=r"float32 arrays \(FloatType\).*cast"):
        ImageTransformer().setTensorElementType(DoubleType())


def ort_outputs(model, feeds):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return session, dict(zip(names, session.run(names, feeds)))


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    model = onnx_models.mlp()
    path = tmp_path_factory.mktemp("mlp") / "mlp.onnx"
    path.write_bytes(model.SerializeToString())
    x = np.random.default_rng(5).standard_normal((40, 64)).astype(np.float32)
    return model, path, x


def test_model_inputs_outputs_and_device_type(spark, mlp):
    from irbis.onnx import ONNXModel

    model, path, x = mlp
    onnx_ml = ONNXModel().setModelPayload(model.SerializeToString())
    session, expected = ort_outputs(model, {"x": x})
    for described, nodes in ((onnx_ml.getModelInputs(), session.get_inputs()),
                             (onnx_ml.getModelOutputs(), session.get_outputs())):
        assert sorted(described) == sorted(n.name for n in nodes)
        for n in nodes:
            info = described[n.name]
            assert info.name == n.name
            assert info.value_info.shape == [d if isinstance(d, int) else -1 for d in n.shape]
            assert info.value_info.type == n.type[len("tensor("):-1].upper()
    onnx_ml.setDeviceType("CPU")
    onnx_ml = (onnx_ml.setFeedDict({"x": "features"}).setFetchDict({"logits": "logits"}).setMiniBatchSize(5000))
    df = spark.createDataFrame([(i, row.tolist()) for i, row in enumerate(x)], ["id", "features"])
    got = np.array([r["logits"] for r in onnx_ml.transform(df).orderBy("id").collect()], np.float32)
    np.testing.assert_allclose(got, expected["logits"], rtol=1e-5, atol=1e-5)
    with pytest.raises(Exception, match=r'setExecutionProvider\("CPU"\)'):
        ONNXModel().setDeviceType("GPU")


def test_slice_at_output(spark, mlp):
    from irbis.onnx import ONNXModel

    model, path, x = mlp
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    exposed.graph.output.append(helper.make_tensor_value_info("h0", TensorProto.FLOAT, None))
    expected = ort_outputs(exposed, {"x": x})[1]["h0"]
    df = spark.createDataFrame([(i, row.tolist()) for i, row in enumerate(x)], ["id", "features"])
    sliced = (ONNXModel().setModelLocation(str(path)).setFeedDict({"x": "features"})
              .setFetchDict({"rawFeatures": "h0"}).sliceAtOutput("h0"))
    got = np.array([list(r["rawFeatures"]) for r in sliced.transform(df).orderBy("id").collect()], np.float32)
    np.testing.assert_allclose(got, expected.reshape(len(x), -1), rtol=1e-5, atol=1e-5)
    plain = ONNXModel().setModelLocation(str(path)).setFeedDict({"x": "features"}).sliceAtOutput("h0")
    assert np.array(list(plain.transform(df).orderBy("id").first()["h0"]), np.float32).shape == (256,)
