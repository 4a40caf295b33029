package irbis.image

import org.bytedeco.javacpp.BytePointer
import org.bytedeco.opencv.global.opencv_core._
import org.bytedeco.opencv.global.opencv_imgcodecs._
import org.bytedeco.opencv.opencv_core.Mat

/** How encoded bytes become pixels; `colorMode` is one of [[Decoding.ColorModes]]. */
case class DecodeSettings(colorMode: String, maxPixels: Long)

object Decoding {
  val ColorModes: Seq[String] = Seq("color", "grayscale", "unchanged")

  val ColorModeDoc: String =
    "How pixels are decoded. color: OpenCV's IMREAD_COLOR, always 3 channels BGR (greyscale replicated, " +
      "CMYK converted, alpha dropped), 8 bits (16-bit samples keep their high byte), EXIF orientation applied; " +
      "the same pixels as cv2.imdecode(bytes, cv2.IMREAD_COLOR). grayscale: IMREAD_GRAYSCALE, 1 channel, " +
      "EXIF orientation applied. unchanged: the file's own channels (1 grey, 3 BGR, 4 BGRA with alpha), " +
      "16-bit samples reduced to their high byte, the EXIF orientation of JPEG files applied; other bit " +
      "depths (float TIFF, ...) are an error."

  /**
   * The decoded pixels, always 8-bit; null for null input. Throws [[ImageException]] for anything that is
   * not a decodable image within `maxPixels`.
   */
  def decode(bytes: Array[Byte], settings: DecodeSettings): Mat = {
    if (bytes == null) return null
    if (bytes.isEmpty) throw new ImageException("the file is empty (0 bytes)")
    OpenCV.ensureLoaded()
    ImageHeaders.dimensions(bytes).foreach { case (w, h) => checkPixels(w, h, settings.maxPixels) }
    val flags = settings.colorMode match {
      case "color" => IMREAD_COLOR
      case "grayscale" => IMREAD_GRAYSCALE
      case "unchanged" => IMREAD_UNCHANGED
      case other => throw new IllegalArgumentException(s"unknown colorMode '$other'")
    }
    val encoded = new Mat(1, bytes.length, CV_8UC1, new BytePointer(bytes: _*))
    val decoded = imdecode(encoded, flags)
    if (decoded == null || decoded.empty()) {
      val format = ImageHeaders.format(bytes).map(f => s"$f data").getOrElse("data in no format OpenCV recognises")
      val head = bytes.take(8).map(b => f"${b & 0xff}%02x").mkString(" ")
      throw new ImageException(s"cannot decode ${bytes.length} bytes of $format (first bytes: $head)" +
        ImageHeaders.truncationHint(bytes).map("; " + _).getOrElse(": corrupt, truncated or unsupported"))
    }
    checkPixels(decoded.cols().toLong, decoded.rows().toLong, settings.maxPixels)
    if (settings.colorMode == "unchanged") orient(to8Bit(decoded), ImageHeaders.jpegOrientation(bytes)) else decoded
  }

  // Header fields reach 2^64 (BigTIFF): their product must not wrap around.
  private def checkPixels(width: Long, height: Long, maxPixels: Long): Unit = {
    val pixels = BigInt(width) * height
    if (pixels > maxPixels) throw new ImageException(
      s"the image is ${width}x$height = $pixels pixels, more than maxPixels = $maxPixels " +
        "(raise maxPixels to decode it)")
  }

  /**
   * 16-bit samples keep their high byte, as IMREAD_COLOR does (libpng's strip-16): x / 256 - 255/512 lies
   * within 0.5 of floor(x / 256), and every step is exact in float, so the rounding lands on x >> 8.
   */
  private def to8Bit(m: Mat): Mat = m.depth() match {
    case d if d == CV_8U => m
    case d if d == CV_16U =>
      val out = new Mat()
      m.convertTo(out, CV_8U, 1.0 / 256, -255.0 / 512)
      out
    case d => throw new ImageException(
        s"the file holds ${SparkImage.depthName(d)} samples, which colorMode 'unchanged' does not convert; use 'color'")
  }

  /** The same flips and transposition as OpenCV's own EXIF handling for IMREAD_COLOR. */
  private[image] def orient(m: Mat, orientation: Int): Mat = {
    def flipped(src: Mat, code: Int): Mat = { val out = new Mat(); flip(src, out, code); out }
    def transposed(src: Mat): Mat = { val out = new Mat(); transpose(src, out); out }
    orientation match {
      case 2 => flipped(m, 1)
      case 3 => flipped(m, -1)
      case 4 => flipped(m, 0)
      case 5 => transposed(m)
      case 6 => flipped(transposed(m), 1)
      case 7 => flipped(transposed(m), -1)
      case 8 => flipped(transposed(m), 0)
      case _ => m
    }
  }
}
