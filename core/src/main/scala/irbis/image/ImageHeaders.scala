package irbis.image

/**
 * What can be read from an encoded image's first bytes without decoding it: the format, the size (so the
 * `maxPixels` guard refuses a huge frame before allocating it) and the JPEG EXIF orientation. Anything
 * unrecognised gives None and leaves the decision to OpenCV.
 */
object ImageHeaders {
  private def u8(b: Array[Byte], i: Int): Int = b(i) & 0xff
  private def be16(b: Array[Byte], i: Int): Int = (u8(b, i) << 8) | u8(b, i + 1)
  private def be32(b: Array[Byte], i: Int): Long = (be16(b, i).toLong << 16) | be16(b, i + 2)
  private def le16(b: Array[Byte], i: Int): Int = u8(b, i) | (u8(b, i + 1) << 8)
  private def le32(b: Array[Byte], i: Int): Long = le16(b, i).toLong | (le16(b, i + 2).toLong << 16)

  private def ascii(b: Array[Byte], from: Int, n: Int): String = new String(b, from, n, "ISO-8859-1")

  def isJpeg(b: Array[Byte]): Boolean = b.length >= 3 && u8(b, 0) == 0xff && u8(b, 1) == 0xd8 && u8(b, 2) == 0xff
  def isPng(b: Array[Byte]): Boolean =
    b.length >= 8 && u8(b, 0) == 0x89 && b(1) == 'P' && b(2) == 'N' && b(3) == 'G'

  def format(b: Array[Byte]): Option[String] =
    if (isJpeg(b)) Some("JPEG") else if (isPng(b)) Some("PNG")
    else if (b.length >= 6 && new String(b, 0, 3, "ISO-8859-1") == "GIF") Some("GIF")
    else if (b.length >= 2 && b(0) == 'B' && b(1) == 'M') Some("BMP")
    else if (b.length >= 12 && ascii(b, 0, 4) == "RIFF" && ascii(b, 8, 4) == "WEBP") Some("WebP")
    else if (b.length >= 4 && (ascii(b, 0, 2) == "II" && b(2) == 42 || ascii(b, 0, 2) == "MM" && b(3) == 42)) Some("TIFF")
    else None

  /** (width, height) from the header of a JPEG, PNG, GIF or BMP file. */
  def dimensions(b: Array[Byte]): Option[(Long, Long)] = format(b) match {
    case Some("PNG") if b.length >= 24 => Some((be32(b, 16), be32(b, 20)))
    case Some("GIF") if b.length >= 10 => Some((le16(b, 6).toLong, le16(b, 8).toLong))
    case Some("BMP") if b.length >= 26 => Some((math.abs(le32(b, 18).toInt).toLong, math.abs(le32(b, 22).toInt).toLong))
    case Some("JPEG") => jpegFrameSize(b)
    case _ => None
  }

  private def isFrameMarker(m: Int): Boolean = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc

  /** Walks the JPEG segments up to the first start-of-frame marker. */
  private def jpegFrameSize(b: Array[Byte]): Option[(Long, Long)] = {
    var i = 2
    while (i + 9 < b.length) {
      if (u8(b, i) != 0xff) return None
      val marker = u8(b, i + 1)
      if (marker == 0xff) i += 1
      else if (isFrameMarker(marker)) return Some((be16(b, i + 7).toLong, be16(b, i + 5).toLong))
      else if (marker == 0xda || marker == 0xd9) return None
      else i += 2 + be16(b, i + 2)
    }
    None
  }

  /**
   * The EXIF orientation tag (1 to 8) of a JPEG, 1 when absent. Only needed where OpenCV itself does not
   * apply it: `IMREAD_UNCHANGED` keeps the stored orientation.
   */
  def jpegOrientation(b: Array[Byte]): Int = {
    if (!isJpeg(b)) return 1
    var i = 2
    while (i + 4 < b.length && u8(b, i) == 0xff) {
      val marker = u8(b, i + 1)
      val length = be16(b, i + 2)
      if (marker == 0xda || marker == 0xd9) return 1
      if (marker == 0xe1 && i + 10 < b.length && new String(b, i + 4, 6, "ISO-8859-1") == "Exif\u0000\u0000")
        return tiffOrientation(b, i + 10, math.min(b.length, i + 2 + length)).getOrElse(1)
      i += 2 + length
    }
    1
  }

  private def tiffOrientation(b: Array[Byte], tiff: Int, end: Int): Option[Int] = {
    if (tiff + 8 > end) return None
    val little = b(tiff) == 'I'
    def s(i: Int): Int = if (little) le16(b, i) else be16(b, i)
    def l(i: Int): Long = if (little) le32(b, i) else be32(b, i)
    val ifd = tiff + l(tiff + 4)
    if (ifd + 2 > end) return None
    val count = s(ifd.toInt)
    (0 until count).iterator.map(k => ifd.toInt + 2 + 12 * k).takeWhile(_ + 12 <= end)
      .find(e => s(e) == 0x0112).map(e => s(e + 8)).filter(o => o >= 1 && o <= 8)
  }

  /** A likely reason why OpenCV could not decode the bytes, for the error message. */
  def truncationHint(b: Array[Byte]): Option[String] = format(b) match {
    case Some("JPEG") if !(b.length >= 2 && u8(b, b.length - 2) == 0xff && u8(b, b.length - 1) == 0xd9) =>
      Some("the JPEG data ends without its end-of-image marker: the file is probably truncated")
    case Some("PNG") if !(b.length >= 12 && new String(b, b.length - 8, 4, "ISO-8859-1") == "IEND") =>
      Some("the PNG data ends without its IEND chunk: the file is probably truncated")
    case _ => None
  }
}
