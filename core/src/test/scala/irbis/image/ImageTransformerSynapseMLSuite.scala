package irbis.image

import irbis.testkit.SparkSuite
import org.apache.spark.sql.types.{DoubleType, FloatType}
import org.bytedeco.opencv.global.opencv_imgproc._

/** SynapseML's spellings of ImageTransformer's operations store the same operations as Irbis's own. */
class ImageTransformerSynapseMLSuite extends SparkSuite {
  private def ops(t: ImageTransformer): Seq[String] = t.getOperations.toSeq
  private def it = new ImageTransformer()

  test("resize(size, keepAspectRatio), crop(x, y, height, width), flip codes, gaussianKernel") {
    assert(ops(it.resize(224, keepAspectRatio = true)) == ops(it.resizeShortSide(224)))
    assert(ops(it.resize(32, keepAspectRatio = false)) == ops(it.resize(32, 32)))
    assert(ops(it.crop(1, 2, 3, 4)) == Seq("""{"op":"crop","x":1,"y":2,"width":4,"height":3}"""))
    assert(ops(it.flip(0).flip(1).flip(-1).flip(7)) == ops(it.flip("vertical").flip("horizontal").flip("both")
        .flip("horizontal")))
    assert(ops(it.gaussianKernel(5, 1.0)) == ops(it.gaussianBlur(5, 5, 1.0, 0.0)))
  }

  test("blur(height, width) is a height x width box blur, not SynapseML's swapped one") {
    assert(ops(it.blur(3.0, 5.0)) == Seq("""{"op":"boxBlur","kernelWidth":5,"kernelHeight":3}"""))
    assert(intercept[IllegalArgumentException](it.blur(2.5, 3)).getMessage.contains("height must be a whole number"))
  }

  test("colorFormat codes follow the channel order; unmapped codes say what to write") {
    assert(ops(it.colorFormat(COLOR_BGR2GRAY)) == ops(it.convertColor("GRAY")))
    assert(ops(it.colorFormat(COLOR_BGR2RGB).colorFormat(COLOR_RGB2BGR)) ==
      ops(it.convertColor("RGB").convertColor("BGR")))
    val e = intercept[IllegalArgumentException](it.colorFormat(COLOR_BGR2HSV))
    assert(e.getMessage.contains("convertColor(\"BGR\" | \"RGB\" | \"GRAY\")"))
  }

  test("threshold with OpenCV type codes, optionally or-ed with OTSU or TRIANGLE") {
    assert(ops(it.threshold(100, 255, THRESH_BINARY)) == ops(it.threshold(100, 255, "binary", "fixed")))
    assert(ops(it.threshold(0, 200, THRESH_TOZERO_INV | THRESH_OTSU)) == ops(it.threshold(0, 200, "toZeroInv", "otsu")))
    assert(intercept[IllegalArgumentException](it.threshold(1, 2, 7)).getMessage.contains("threshold(t, maxValue"))
  }

  test("normalizeToTensor takes RGB statistics whatever the current order, and ends with an RGB CHW tensor") {
    val (mean, std) = (Array(0.485, 0.456, 0.406), Array(0.229, 0.224, 0.225))
    assert(ops(it.normalizeToTensor(mean, std, 1.0 / 255)) ==
      ops(it.normalize(mean.reverse.toSeq, std.reverse.toSeq, 1.0 / 255).toTensor("CHW", "RGB")))
    assert(ops(it.convertColor("RGB").normalizeToTensor(mean, std, 1.0 / 255)) ==
      ops(it.convertColor("RGB").normalize(mean.toSeq, std.toSeq, 1.0 / 255).toTensor("CHW", "RGB")))
  }

  test("setTensorElementType accepts FloatType only") {
    assert(ops(it.resize(2, 2).setTensorElementType(FloatType)) == ops(it.resize(2, 2)))
    assert(intercept[IllegalArgumentException](it.setTensorElementType(DoubleType)).getMessage.contains("cast"))
  }
}
