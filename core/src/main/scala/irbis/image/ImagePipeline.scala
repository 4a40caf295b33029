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
  def run(input: Mat): (Mat, String) = runFirst(input, ops.length)

  private def runFirst(input: Mat, count: Int): (Mat, String) = {
    var state = (input, initialOrder(input.channels()))
    ops.take(count).zipWithIndex.foreach { case (op, i) => state = named(i)(step(op, state._1, state._2)) }
    state
  }

  private def named[T](i: Int)(body: => T): T =
    try body
    catch {
      case e: ImageException => throw new ImageException(s"operations[$i] (${ops(i).op}): ${e.getMessage}")
      case e: RuntimeException =>
        throw new ImageException(s"operations[$i] (${ops(i).op}): OpenCV failed: ${e.getMessage}")
    }

  /**
   * The float tensor of the last op (toTensor). A CHW tensor right after normalize is computed plane by
   * plane straight from the 8-bit pixels: the same float32 arithmetic, without full-size float images.
   */
  def tensor(input: Mat): Array[Float] = {
    val t = ops.last.asInstanceOf[ToTensor]
    val n = ops.length
    ops.lift(n - 2) match {
      case Some(norm: Normalize) if t.layout == "CHW" =>
        val (m, order) = runFirst(input, n - 2)
        named(n - 2)(planarTensor(m, order, t, Some(norm)))
      case _ =>
        val (m, order) = run(input)
        named(n - 1)(if (t.layout == "CHW") planarTensor(m, order, t, None) else interleavedTensor(m, order, t))
    }
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
    ("BGRA", "BGR") -> Some(COLOR_BGRA2BGR), ("BGRA", "RGB") -> Some(COLOR_BGRA2RGB),
    ("BGRA", "GRAY") -> Some(COLOR_BGRA2GRAY),
    ("RGBA", "BGR") -> Some(COLOR_RGBA2BGR), ("RGBA", "RGB") -> Some(COLOR_RGBA2RGB),
    ("RGBA", "GRAY") -> Some(COLOR_RGBA2GRAY))

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
    case BoxBlur(kw, kh) => (fresh(blur(m, _, new Size(kw, kh))), order)
    case Threshold(t, max, kind, method) =>
      if (method != "fixed" && m.`type`() != CV_8UC1) throw new ImageException(
        s"method '$method' needs a 1-channel 8-bit image (convertColor to GRAY first), got ${m.channels()} channels")
      (fresh(threshold(m, _, t, max, thresholdTypes(kind) | thresholdMethods(method))), order)
    case Flip(mode) => (fresh(flip(m, _, flipCodes(mode))), order)
    case Normalize(mean, std, scale) => (normalize(m, mean, std, scale), order)
    case _: ToTensor => (m, order)
  }

  private def perChannel(name: String, v: Seq[Double], channels: Int): Seq[Double] = {
    if (v.length != 1 && v.length != channels) throw new ImageException(
      s"'$name' has ${v.length} values but the image has $channels channels (give 1 value or $channels)")
    if (v.length == 1) Seq.fill(channels)(v.head) else v
  }

  /**
   * (x * scale - mean) / std per channel, in float32 and in that order. Multi-channel Scalar arithmetic in
   * OpenCV rounds differently from plain float32, so mean and std are constant Mats here (one Scalar per
   * single-channel plane, as [[planarTensor]] does, is exact).
   */
  private def normalize(m: Mat, mean: Seq[Double], std: Seq[Double], scale: Double): Mat = {
    val c = m.channels()
    def constant(v: Seq[Double]): Mat = {
      val p = v.padTo(4, 0.0)
      new Mat(m.rows(), m.cols(), CV_MAKETYPE(CV_32F, c), new Scalar(p(0), p(1), p(2), p(3)))
    }
    val (meanMat, stdMat) = (constant(perChannel("mean", mean, c)), constant(perChannel("std", std, c)))
    val f = new Mat()
    m.convertTo(f, CV_32F, scale, 0)
    subtract(f, meanMat, f)
    divide(f, stdMat, f)
    f
  }

  /** For each output channel, the input channel it comes from (alpha stays last). */
  private def channelSources(order: String, wanted: String, channels: Int): Seq[Int] = (order, wanted) match {
    case ("BGR" | "BGRA", "RGB") | ("RGB" | "RGBA", "BGR") => Seq(2, 1, 0, 3).take(channels)
    case _ => 0 until channels
  }

  /**
   * A scalar operand (OpenCV's form: a 4x1 double Mat). OpenCV applies it in double precision; rounding the
   * value to float first makes that equal to float32 arithmetic (double is wide enough for +, -, * and / of
   * floats to round once), i.e. to the constant-Mat path and to numpy's float32.
   */
  private def scalar(v: Double): Mat = new Mat(4, 1, CV_64F, new Scalar(v.toFloat.toDouble))

  /** CHW: one plane per channel, each (optionally) normalized on its own. */
  private def planarTensor(m: Mat, order: String, t: ToTensor, norm: Option[Normalize]): Array[Float] = {
    val c = m.channels()
    val n = m.rows() * m.cols()
    val scale = norm.map(_.scale).getOrElse(1.0)
    val mean = norm.map(x => perChannel("mean", x.mean, c))
    val std = norm.map(x => perChannel("std", x.std, c))
    val planes = SparkImage.planes(m)
    val out = new Array[Float](c * n)
    channelSources(order, t.channelOrder, c).zipWithIndex.foreach { case (src, k) =>
      val plane = new Mat()
      planes.get(src.toLong).convertTo(plane, CV_32F, scale, 0)
      mean.foreach(v => subtract(plane, scalar(v(src)), plane))
      std.foreach(v => divide(plane, scalar(v(src)), plane))
      SparkImage.copyFloats(plane, out, k * n)
    }
    out
  }

  /** HWC: the interleaved values, channels swapped with cvtColor when asked. */
  private def interleavedTensor(m: Mat, order: String, t: ToTensor): Array[Float] = {
    val swap = (order, t.channelOrder) match {
      case ("BGR", "RGB") | ("RGB", "BGR") => Some(COLOR_BGR2RGB)
      case ("BGRA", "RGB") | ("RGBA", "BGR") => Some(COLOR_BGRA2RGBA)
      case _ => None
    }
    val ordered = swap.map(code => fresh(cvtColor(m, _, code))).getOrElse(m)
    SparkImage.floats(if (ordered.depth() == CV_32F) ordered else fresh(ordered.convertTo(_, CV_32F)))
  }
}
