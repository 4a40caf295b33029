package irbis.featurize

import irbis.image._
import org.apache.spark.ml.param.Param
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

/** The image preparation a model expects, as the featurizer applies it. */
case class Preprocessing(inputSize: Int, resizeShortSide: Int, channelOrder: String, scale: Double,
                         mean: Seq[Double], std: Seq[Double], interpolation: String = "bilinear",
                         layout: String = "CHW") {

  /** resize (short side, or straight to the input size), centre crop, channels, normalize, tensor. */
  def operations: Seq[ImageOp] = {
    val interp = Preprocessing.openCvInterpolation(interpolation)
    val size = if (resizeShortSide > 0) Seq(ResizeShortSide(resizeShortSide, interp), CenterCrop(inputSize, inputSize))
    else Seq(Resize(inputSize, inputSize, interp))
    size ++ Seq(ConvertColor(channelOrder), Normalize(mean, std, scale), ToTensor(layout, channelOrder))
  }

  /** One image's tensor shape (no batch dimension). */
  def tensorShape: Seq[Long] =
    if (layout == "HWC") Seq(inputSize.toLong, inputSize.toLong, 3L) else Seq(3L, inputSize.toLong, inputSize.toLong)
}

/**
 * Reading a preprocessing from where a model describes it: the model's ONNX metadata ('preprocessing', a JSON
 * object whose fields are named as the featurizer's Params), a catalogue entry, and the model input's shape.
 */
object Preprocessing {

  /** The names converters write (PIL's and torchvision's), each one OpenCV interpolation. */
  val Interpolations: Seq[String] = Seq("nearest", "bilinear", "bicubic", "area", "lanczos4")
  def openCvInterpolation(name: String): String = name match {
    case "bilinear" => "linear"
    case "bicubic" => "cubic"
    case other => other
  }

  /** The fields of a model's 'preprocessing' metadata. */
  private[featurize] def readMetadata(json: String, uid: String): Map[String, JValue] = (try parse(json)
  catch {
    case e: Exception =>
      throw new IllegalArgumentException(s"$uid: the model's 'preprocessing' metadata is not JSON: " +
        s"${e.getMessage}")
  }) match {
    case JObject(fields) => fields.toMap
    case _ =>
      throw new IllegalArgumentException(s"$uid: the model's 'preprocessing' metadata is not a JSON object: $json")
  }

  /** A preprocessing value (from model metadata or a catalogue) decoded and validated by the Param's own codec. */
  private[featurize] def decode[T](p: Param[T], v: JValue, origin: String, uid: String): T = {
    val value = try p.jsonDecode(compact(render(v)))
    catch {
      case e: Exception => throw new IllegalArgumentException(
          s"$uid: $origin has ${p.name} = ${compact(render(v))}: ${e.getMessage}")
    }
    require(p.isValid(value), s"$uid: $origin has ${p.name} = ${compact(render(v))}, which is not valid: ${p.doc}")
    value
  }

  /** The layout of a model input of this shape: 3 channels on axis 3 and not on axis 1 is HWC, else CHW. */
  private[featurize] def layoutOf(shape: Seq[Long]): String =
    if (shape.length == 4 && shape(3) == 3 && shape(1) != 3) "HWC" else "CHW"

  /** The square size of a model input of this shape in this layout, or `default` for a shape that is no image's. */
  private[featurize] def sizeOf(shape: Seq[Long], layout: String, input: String, default: Int, uid: String): Int = {
    val (h, w) = if (layout == "HWC") (1, 2) else (2, 3)
    if (shape.length != 4) default // not an image input: the featurizer's input shape check says so
    else if (shape(h) > 0 && shape(w) > 0) {
      require(shape(h) == shape(w),
        s"$uid: the model's input '$input' has shape ${showShape(shape)}, " +
          s"${shape(h)} x ${shape(w)} (height x width) in layout $layout; ImageFeaturizer makes square inputs (check layout)")
      require(shape(h) <= Int.MaxValue, s"$uid: the model's input '$input' has shape ${showShape(shape)}")
      shape(h).toInt
    } else throw new IllegalArgumentException(s"$uid: the model's input '$input' has shape " +
      s"${showShape(shape)}, a symbolic height or width, and neither inputSize nor the model's preprocessing " +
      "metadata gives the size to feed: set inputSize")
  }

  private[featurize] def showShape(shape: Seq[Long]): String =
    shape.map(d => if (d < 0) "?" else d.toString).mkString("[", ", ", "]")
}
