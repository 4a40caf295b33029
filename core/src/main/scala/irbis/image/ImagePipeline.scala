package irbis.image

import org.bytedeco.opencv.global.opencv_core._
import org.bytedeco.opencv.global.opencv_imgproc.{GaussianBlur => cvGaussianBlur, _}
import org.bytedeco.opencv.opencv_core.{Mat, Rect, Scalar, Size}

/**
 * Applies a list of [[ImageOp]]s to one image in a single pass. Besides the pixels it tracks the channel
 * order (an image struct is GRAY, BGR or BGRA; convertColor may make it RGB or RGBA), so that
 * convertColor and toTensor know which OpenCV conversion to use.
 */
final class ImagePipeline(val ops: Seq[ImageOp]) extends Serializable {
  import ImagePipeline._

  val outputsTensor: Boolean = ops.lastOption.exists(_.isInstanceOf[ToTensor])

  /** The transformed pixels and their channel order; throws [[ImageException]] naming the failing op. */
  def run(input: Mat): (Mat, String) = {
    var state = (input, initialOrder(input.channels()))
    ops.zipWithIndex.foreach { case (op, i) =>
      state = try step(op, state._1, state._2) catch {
        case e: ImageException => throw new ImageException(s"operations[$i] (${op.op}): ${e.getMessage}")
        case e: RuntimeException => throw new ImageException(s"operations[$i] (${op.op}): OpenCV failed: ${e.getMessage}")
      }
    }
    state
  }

  def tensor(input: Mat): Array[Float] = {
    val (m, order) = run(input)
    val t = ops.last.asInstanceOf[ToTensor]
    toTensor(m, order, t)
  }
}

object ImagePipeline {
  def apply(jsons: Seq[String]): ImagePipeline = new ImagePipeline(ImageOp.parseAll(jsons))

  def initialOrder(channels: Int): String = channels match {
    case 1 => "GRAY"
    case 3 => "BGR"
    case 4 => "BGRA"
    case c => throw new ImageException(s"expected 1, 3 or 4 channels, got $c")
  }

  val interpolationCodes: Map[String, Int] = Map("nearest" -> INTER_NEAREST, "linear" -> INTER_LINEAR,
    "cubic" -> INTER_CUBIC, "area" -> INTER_AREA, "lanczos4" -> INTER_LANCZOS4,
    "linearExact" -> INTER_LINEAR_EXACT, "nearestExact" -> INTER_NEAREST_EXACT)

  private val thresholdTypes = Map("binary" -> THRESH_BINARY, "binaryInv" -> THRESH_BINARY_INV,
    "trunc" -> THRESH_TRUNC, "toZero" -> THRESH_TOZERO, "toZeroInv" -> THRESH_TOZERO_INV)
  private val thresholdMethods = Map("fixed" -> 0, "otsu" -> THRESH_OTSU, "triangle" -> THRESH_TRIANGLE)
  private val flipCodes = Map("horizontal" -> 1, "vertical" -> 0, "both" -> -1)

  /** cvtColor codes from a channel order to a convertColor target; None when nothing needs to change. */
  private val colorCodes: Map[(String, String), Option[Int]] = Map(
    ("GRAY", "GRAY") -> None, ("GRAY", "BGR") -> Some(COLOR_GRAY2BGR), ("GRAY", "RGB") -> Some(COLOR_GRAY2RGB),
    ("BGR", "BGR") -> None, ("BGR", "RGB") -> Some(COLOR_BGR2RGB), ("BGR", "GRAY") -> Some(COLOR_BGR2GRAY),
    ("RGB", "RGB") -> None, ("RGB", "BGR") -> Some(COLOR_RGB2BGR), ("RGB", "GRAY") -> Some(COLOR_RGB2GRAY),
    ("BGRA", "BGR") -> Some(COLOR_BGRA2BGR), ("BGRA", "RGB") -> Some(COLOR_BGRA2RGB), ("BGRA", "GRAY") -> Some(COLOR_BGRA2GRAY),
    ("RGBA", "BGR") -> Some(COLOR_RGBA2BGR), ("RGBA", "RGB") -> Some(COLOR_RGBA2RGB), ("RGBA", "GRAY") -> Some(COLOR_RGBA2GRAY))

  /** Output size of resize-short-side: the short side becomes `n`, the long side n * long / short, floored. */
  def shortSideSize(rows: Int, cols: Int, n: Int): (Int, Int) =
    if (rows <= cols) (n, math.max(1L, n.toLong * cols / rows).toInt)
    else (math.max(1L, n.toLong * rows / cols).toInt, n)

  private def fresh(f: Mat => Unit): Mat = { val out = new Mat(); f(out); out }

  private def step(op: ImageOp, m: Mat, order: String): (Mat, String) = op match {
    case Resize(h, w, interp) =>
      (fresh(resize(m, _, new Size(w, h), 0, 0, interpolationCodes(interp))), order)
    case ResizeShortSide(n, interp) =>
      val (h, w) = shortSideSize(m.rows(), m.cols(), n)
      (fresh(resize(m, _, new Size(w, h), 0, 0, interpolationCodes(interp))), order)
    case Crop(x, y, w, h) =>
      if (x.toLong + w > m.cols() || y.toLong + h > m.rows()) throw new ImageException(
        s"the rectangle x=$x, y=$y, width=$w, height=$h does not fit in the ${m.cols()}x${m.rows()} (width x height) image")
      (new Mat(m, new Rect(x, y, w, h)), order)
    case CenterCrop(h, w) =>
      if (w > m.cols() || h > m.rows()) throw new ImageException(
        s"cannot cut ${w}x$h (width x height) out of a ${m.cols()}x${m.rows()} image; resize it first")
      (new Mat(m, new Rect((m.cols() - w) / 2, (m.rows() - h) / 2, w, h)), order)
    case ConvertColor(to) =>
      colorCodes((order, to)) match {
        case Some(code) => (fresh(cvtColor(m, _, code)), to)
        case None => (m, order)
      }
    case GaussianBlur(kw, kh, sx, sy) =>
      (fresh(cvGaussianBlur(m, _, new Size(kw, kh), sx, sy, BORDER_DEFAULT,
        ALGO_HINT_DEFAULT)), order)
    case Threshold(t, max, kind, method) =>
      if (method != "fixed" && m.`type`() != CV_8UC1) throw new ImageException(
        s"method '$method' needs a 1-channel 8-bit image (convertColor to GRAY first), got ${m.channels()} channels")
      (fresh(threshold(m, _, t, max, thresholdTypes(kind) | thresholdMethods(method))), order)
    case Flip(mode) => (fresh(flip(m, _, flipCodes(mode))), order)
    case Normalize(mean, std, scale) => (normalize(m, mean, std, scale), order)
    case _: ToTensor => (m, order)
  }

  /**
   * (x * scale - mean) / std per channel, in float32 and in that order; mean and std are constant Mats
   * rather than Scalars because OpenCV's Scalar arithmetic on float images rounds differently.
   */
  private def normalize(m: Mat, mean: Seq[Double], std: Seq[Double], scale: Double): Mat = {
    val c = m.channels()
    def perChannel(name: String, v: Seq[Double]): Scalar = {
      if (v.length != 1 && v.length != c) throw new ImageException(
        s"'$name' has ${v.length} values but the image has $c channels (give 1 value or $c)")
      val full = if (v.length == 1) Seq.fill(c)(v.head) else v
      val padded = full.padTo(4, 0.0)
      new Scalar(padded(0), padded(1), padded(2), padded(3))
    }
    val meanScalar = perChannel("mean", mean)
    val stdScalar = perChannel("std", std)
    val f = new Mat()
    m.convertTo(f, CV_32F, scale, 0)
    val t = CV_MAKETYPE(CV_32F, c)
    subtract(f, new Mat(f.rows(), f.cols(), t, meanScalar), f)
    divide(f, new Mat(f.rows(), f.cols(), t, stdScalar), f)
    f
  }

  /** The float tensor, CHW (channel planes one after another) or HWC (interleaved), channels as asked. */
  def toTensor(m: Mat, order: String, t: ToTensor): Array[Float] = {
    val swap = (order, t.channelOrder) match {
      case ("BGR", "RGB") | ("RGB", "BGR") => Some(COLOR_BGR2RGB)
      case ("BGRA", "RGB") | ("RGBA", "BGR") => Some(COLOR_BGRA2RGBA)
      case _ => None
    }
    val ordered = swap.map(code => fresh(cvtColor(m, _, code))).getOrElse(m)
    val f = if (ordered.depth() == CV_32F) ordered else fresh(ordered.convertTo(_, CV_32F))
    if (t.layout == "HWC" || f.channels() == 1) SparkImage.floats(f)
    else {
      val planes = SparkImage.planes(f)
      val n = f.total().toInt
      val out = new Array[Float](n * f.channels())
      (0 until f.channels()).foreach(c => SparkImage.copyFloats(planes.get(c.toLong), out, c * n))
      out
    }
  }
}
