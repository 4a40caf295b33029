package irbis.image

import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, render}

/**
 * One step of an [[ImageTransformer]]. Each is stored in the stage's `operations` Param as a compact JSON
 * object (`{"op":"resize","height":224,"width":224,"interpolation":"linear"}`), so the list saves and
 * loads with the stage and travels to Python and R as plain strings.
 */
sealed trait ImageOp extends Serializable {
  def op: String
  protected def fields: List[(String, JValue)]
  final def toJson: String = compact(render(JObject(("op" -> JString(op)) :: fields)))
}

case class Resize(height: Int, width: Int, interpolation: String) extends ImageOp {
  val op = "resize"
  protected def fields =
    List("height" -> JInt(height), "width" -> JInt(width), "interpolation" -> JString(interpolation))
}

case class ResizeShortSide(shortSide: Int, interpolation: String) extends ImageOp {
  val op = "resize"
  protected def fields = List("shortSide" -> JInt(shortSide), "interpolation" -> JString(interpolation))
}

case class Crop(x: Int, y: Int, width: Int, height: Int) extends ImageOp {
  val op = "crop"
  protected def fields = List("x" -> JInt(x), "y" -> JInt(y), "width" -> JInt(width), "height" -> JInt(height))
}

case class CenterCrop(height: Int, width: Int) extends ImageOp {
  val op = "centerCrop"
  protected def fields = List("height" -> JInt(height), "width" -> JInt(width))
}

case class ConvertColor(to: String) extends ImageOp {
  val op = "convertColor"
  protected def fields = List("to" -> JString(to))
}

case class GaussianBlur(kernelWidth: Int, kernelHeight: Int, sigmaX: Double, sigmaY: Double) extends ImageOp {
  val op = "gaussianBlur"
  protected def fields = List("kernelWidth" -> JInt(kernelWidth), "kernelHeight" -> JInt(kernelHeight),
    "sigmaX" -> JDouble(sigmaX), "sigmaY" -> JDouble(sigmaY))
}

case class BoxBlur(kernelWidth: Int, kernelHeight: Int) extends ImageOp {
  val op = "boxBlur"
  protected def fields = List("kernelWidth" -> JInt(kernelWidth), "kernelHeight" -> JInt(kernelHeight))
}

case class Threshold(threshold: Double, maxValue: Double, thresholdType: String, method: String) extends ImageOp {
  val op = "threshold"
  protected def fields = List("threshold" -> JDouble(threshold), "maxValue" -> JDouble(maxValue),
    "type" -> JString(thresholdType), "method" -> JString(method))
}

case class Flip(mode: String) extends ImageOp {
  val op = "flip"
  protected def fields = List("mode" -> JString(mode))
}

case class Normalize(mean: Seq[Double], std: Seq[Double], scale: Double) extends ImageOp {
  val op = "normalize"
  protected def fields = List("mean" -> JArray(mean.map(JDouble(_)).toList),
    "std" -> JArray(std.map(JDouble(_)).toList), "scale" -> JDouble(scale))
}

case class ToTensor(layout: String, channelOrder: String) extends ImageOp {
  val op = "toTensor"
  protected def fields = List("layout" -> JString(layout), "channelOrder" -> JString(channelOrder))
}

object ImageOp {
  val Interpolations: Seq[String] = Seq("nearest", "linear", "cubic", "area", "lanczos4", "linearExact", "nearestExact")

  /** Shown in the interpolation docs of both resizing stages: users comparing with cv2 need to know. */
  val CubicNote: String =
    "cubic (INTER_CUBIC) may differ by 1 grey level, in a few percent of pixels, from another OpenCV build of " +
      "the same version (e.g. opencv-python's cv2.resize): builds from different compilers round the cubic " +
      "coefficient sums differently. Every other interpolation, lanczos4 included, gives the same pixels as cv2."
  val ColorTargets: Seq[String] = Seq("BGR", "RGB", "GRAY")
  val ThresholdTypes: Seq[String] = Seq("binary", "binaryInv", "trunc", "toZero", "toZeroInv")
  val ThresholdMethods: Seq[String] = Seq("fixed", "otsu", "triangle")
  val FlipModes: Seq[String] = Seq("horizontal", "vertical", "both")
  val Layouts: Seq[String] = Seq("CHW", "HWC")
  val ChannelOrders: Seq[String] = Seq("RGB", "BGR")
  val Names: Seq[String] = Seq("resize", "crop", "centerCrop", "convertColor", "gaussianBlur", "boxBlur", "threshold",
    "flip", "normalize", "toTensor")

  /** Reads one element of `operations`; errors name the element's position, its op and the field. */
  def parse(json: String, index: Int): ImageOp = {
    val where = s"operations[$index]"
    val obj = (try org.json4s.jackson.JsonMethods.parse(json)
    catch {
      case e: Exception => throw new IllegalArgumentException(s"$where is not JSON: $json (${e.getMessage})")
    }) match {
      case JObject(fs) => fs.toMap
      case _ =>
        throw new IllegalArgumentException(s"$where must be a JSON object like {\"op\":\"resize\",...}, got $json")
    }
    val name = obj.get("op") match {
      case Some(JString(n)) if Names.contains(n) => n
      case Some(other) => throw new IllegalArgumentException(
          s"$where: unknown op ${compact(render(other))}; known ops: ${Names.mkString(", ")}")
      case None => throw new IllegalArgumentException(s"$where has no \"op\" field: $json")
    }
    val f = new OpFields(obj - "op", s"$where ($name)")
    val op = name match {
      case "resize" if obj.contains("shortSide") =>
        if (obj.contains("height") || obj.contains("width"))
          f.fail("give either 'height' and 'width', or 'shortSide', not both")
        ResizeShortSide(f.int("shortSide", min = 1), f.choice("interpolation", Interpolations, Some("linear")))
      case "resize" =>
        Resize(f.int("height", min = 1), f.int("width", min = 1),
          f.choice("interpolation", Interpolations, Some("linear")))
      case "crop" => Crop(f.int("x", min = 0), f.int("y", min = 0), f.int("width", min = 1), f.int("height", min = 1))
      case "centerCrop" => CenterCrop(f.int("height", min = 1), f.int("width", min = 1))
      case "convertColor" => ConvertColor(f.choice("to", ColorTargets, None))
      case "gaussianBlur" =>
        val b = GaussianBlur(f.int("kernelWidth", min = 0), f.int("kernelHeight", min = 0),
          f.double("sigmaX", Some(0.0), min = 0), f.double("sigmaY", Some(0.0), min = 0))
        val sizes = Seq(b.kernelWidth, b.kernelHeight)
        if (!(sizes.forall(k => k > 0 && k % 2 == 1) || sizes.forall(_ == 0) && b.sigmaX > 0)) f.fail(
          "kernelWidth and kernelHeight must both be positive and odd, or both 0 with sigmaX > 0 (OpenCV then " +
            s"derives the kernel from sigma); got ${b.kernelWidth}x${b.kernelHeight}, sigmaX ${b.sigmaX}")
        b
      case "boxBlur" => BoxBlur(f.int("kernelWidth", min = 1), f.int("kernelHeight", min = 1))
      case "threshold" => Threshold(f.double("threshold", None), f.double("maxValue", Some(255.0)),
          f.choice("type", ThresholdTypes, Some("binary")), f.choice("method", ThresholdMethods, Some("fixed")))
      case "flip" => Flip(f.choice("mode", FlipModes, None))
      case "normalize" =>
        val n = Normalize(f.doubles("mean", Seq(0.0)), f.doubles("std", Seq(1.0)), f.double("scale", Some(1.0)))
        if (n.std.exists(_ == 0.0)) f.fail(s"field 'std' must not contain 0, got ${n.std.mkString("[", ", ", "]")}")
        if (n.mean.length > 4 || n.std.length > 4)
          f.fail("fields 'mean' and 'std' take 1 to 4 values (one per channel)")
        n
      case "toTensor" =>
        ToTensor(f.choice("layout", Layouts, Some("CHW")), f.choice("channelOrder", ChannelOrders, Some("RGB")))
    }
    f.requireNoOthers()
    op
  }

  /** Reads and checks a whole list: only the last op may be toTensor. */
  def parseAll(jsons: Seq[String]): Seq[ImageOp] = {
    require(jsons != null, "operations must not be null")
    val ops = jsons.zipWithIndex.map { case (j, i) => parse(j, i) }
    ops.zipWithIndex.foreach {
      case (_: ToTensor, i) if i != ops.length - 1 =>
        throw new IllegalArgumentException(
          s"operations[$i] (toTensor) must be the last operation; ${ops.length - 1 - i} more follow it")
      case _ =>
    }
    ops
  }

  /**
   * A list ready to run: float pixels (after normalize) need a final toTensor. Checked when the stage runs,
   * not when the list is set, so that fluent calls can add normalize before toTensor.
   */
  def requireComplete(ops: Seq[ImageOp], stage: String): Unit = {
    val firstNormalize = ops.indexWhere(_.isInstanceOf[Normalize])
    if (firstNormalize >= 0 && !ops.lastOption.exists(_.isInstanceOf[ToTensor])) throw new IllegalArgumentException(
      s"$stage: operations[$firstNormalize] (normalize) makes float pixels, which Spark's image schema cannot hold: " +
        "end the list with toTensor")
  }

  /** The canonical JSON of one operation (every field, defaults filled in): what the fluent methods store. */
  def canonical(json: String): String = parse(json, 0).toJson
}

/** Typed reading of an op's fields; each error names the op and the field. */
private class OpFields(fields: Map[String, JValue], where: String) {
  private val used = scala.collection.mutable.Set.empty[String]

  def fail(message: String): Nothing = throw new IllegalArgumentException(s"$where: $message")

  private def get(name: String): Option[JValue] = { used += name; fields.get(name).filter(_ != JNull) }
  private def show(v: JValue): String = compact(render(v))

  def int(name: String, min: Int): Int = get(name) match {
    case Some(JInt(i)) if i >= min && i.isValidInt => i.toInt
    case Some(JLong(i)) if i >= min && i.isValidInt => i.toInt
    case Some(JDouble(d)) if d.isWhole && d >= min && d <= Int.MaxValue => d.toInt
    case Some(v) => fail(s"field '$name' must be an integer >= $min, got ${show(v)}")
    case None => fail(s"field '$name' is required (an integer >= $min)")
  }

  def double(name: String, default: Option[Double], min: Double = Double.NegativeInfinity): Double = get(name) match {
    case Some(JInt(i)) if i.toDouble >= min => i.toDouble
    case Some(JLong(i)) if i.toDouble >= min => i.toDouble
    case Some(JDouble(d)) if !d.isNaN && !d.isInfinite && d >= min => d
    case Some(JDecimal(d)) if d.toDouble >= min => d.toDouble
    case Some(v) =>
      fail(s"field '$name' must be a finite number${if (min.isInfinite) "" else s" >= $min"}, got ${show(v)}")
    case None => default.getOrElse(fail(s"field '$name' is required (a number)"))
  }

  def doubles(name: String, default: Seq[Double]): Seq[Double] = get(name) match {
    case Some(JArray(xs)) if xs.nonEmpty =>
      xs.map {
        case JInt(i) => i.toDouble
        case JLong(i) => i.toDouble
        case JDouble(d) if !d.isNaN && !d.isInfinite => d
        case JDecimal(d) => d.toDouble
        case v => fail(s"field '$name' must hold finite numbers, got ${show(v)}")
      }
    case Some(JInt(i)) => Seq(i.toDouble)
    case Some(JDouble(d)) if !d.isNaN && !d.isInfinite => Seq(d)
    case Some(v) =>
      fail(s"field '$name' must be a non-empty list of numbers (one per channel, or one for all), got ${show(v)}")
    case None => default
  }

  def choice(name: String, options: Seq[String], default: Option[String]): String = get(name) match {
    case Some(JString(s)) if options.contains(s) => s
    case Some(v) => fail(s"field '$name' must be one of ${options.mkString(", ")}; got ${show(v)}")
    case None => default.getOrElse(fail(s"field '$name' is required (one of ${options.mkString(", ")})"))
  }

  def requireNoOthers(): Unit = {
    val unknown = fields.keySet -- used
    if (unknown.nonEmpty)
      fail(
        s"unknown field${if (unknown.size > 1) "s" else ""} ${unknown.toSeq.sorted.map("'" + _ + "'").mkString(", ")}")
  }
}
