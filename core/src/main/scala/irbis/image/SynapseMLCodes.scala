package irbis.image

import org.bytedeco.opencv.global.opencv_imgproc._

/**
 * SynapseML's `ImageTransformer` takes raw OpenCV codes where Irbis takes names; this turns the codes its
 * documentation uses into Irbis's fields, and refuses the rest with what to write instead.
 */
private[image] object SynapseMLCodes {

  /** The convertColor target of a `cv2.COLOR_*` code, given the image's channel order before it. */
  def colorTarget(code: Int, current: String): String = code match {
    case COLOR_BGR2GRAY | COLOR_RGB2GRAY | COLOR_BGRA2GRAY | COLOR_RGBA2GRAY => "GRAY"
    // COLOR_BGR2RGB and COLOR_RGB2BGR are one code: it swaps the first and last channel.
    case COLOR_BGR2RGB => if (current == "RGB") "BGR" else "RGB"
    case COLOR_BGRA2BGR => "BGR"
    case COLOR_BGRA2RGB => "RGB"
    case COLOR_GRAY2BGR => "BGR"
    case other => throw new IllegalArgumentException(
        s"colorFormat($other): Irbis maps the OpenCV codes COLOR_BGR2GRAY, COLOR_RGB2GRAY, COLOR_BGRA2GRAY, " +
          "COLOR_RGBA2GRAY, COLOR_BGR2RGB/RGB2BGR, COLOR_BGRA2BGR, COLOR_BGRA2RGB and COLOR_GRAY2BGR/GRAY2RGB; " +
          "for other conversions use convertColor(\"BGR\" | \"RGB\" | \"GRAY\") or a stage of your own")
  }

  /** (type, method) of a `cv2.THRESH_*` code, a type optionally or-ed with THRESH_OTSU or THRESH_TRIANGLE. */
  def threshold(code: Int): (String, String) = {
    val kinds = Map(THRESH_BINARY -> "binary", THRESH_BINARY_INV -> "binaryInv", THRESH_TRUNC -> "trunc",
      THRESH_TOZERO -> "toZero", THRESH_TOZERO_INV -> "toZeroInv")
    val methods = Map(0 -> "fixed", THRESH_OTSU -> "otsu", THRESH_TRIANGLE -> "triangle")
    val (kind, method) = (kinds.get(code & 7), methods.get(code & ~7))
    if (kind.isEmpty || method.isEmpty) throw new IllegalArgumentException(
      s"threshold type $code is not an OpenCV THRESH_BINARY, THRESH_BINARY_INV, THRESH_TRUNC, THRESH_TOZERO or " +
        "THRESH_TOZERO_INV code (optionally | THRESH_OTSU or THRESH_TRIANGLE); Irbis's own threshold takes " +
        "names: threshold(t, maxValue, \"binary\", \"fixed\")")
    (kind.get, method.get)
  }

  /** A kernel side given as a double (SynapseML's blur): whole and >= 1, as OpenCV would use it. */
  def wholeSize(name: String, value: Double): Int = {
    require(value >= 1 && value.isWhole && value <= Int.MaxValue,
      s"blur: $name must be a whole number >= 1 (a kernel size in pixels), got $value")
    value.toInt
  }
}
