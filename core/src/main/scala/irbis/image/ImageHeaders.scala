package irbis.image

/**
 * What can be read from an encoded image's header without decoding it: the format, the size (so the
 * `maxPixels` guard refuses a huge frame before OpenCV allocates it: a few hundred compressed bytes can claim
 * gigabytes of pixels) and the JPEG EXIF orientation. Every format this OpenCV build decodes has its size read
 * here; anything unrecognised gives None, and the guard then applies to the decoded frame.
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
    if (isJpeg(b)) Some("JPEG")
    else if (isPng(b)) Some("PNG")
    else if (b.length >= 6 && new String(b, 0, 3, "ISO-8859-1") == "GIF") Some("GIF")
    else if (b.length >= 2 && b(0) == 'B' && b(1) == 'M') Some("BMP")
    else if (b.length >= 12 && ascii(b, 0, 4) == "RIFF" && ascii(b, 8, 4) == "WEBP") Some("WebP")
    else if (tiffVersion(b).isDefined) Some("TIFF")
    else if (b.length >= 3 && b(0) == 'P' && "1234567".contains(b(1).toChar) && isSpace(b(2))) Some("PNM")
    else if (b.length >= 3 && b(0) == 'P' && (b(1) == 'F' || b(1) == 'f') && isSpace(b(2))) Some("PFM")
    else if (b.length >= 4 && be32(b, 0) == 0x59a66a95L) Some("Sun raster")
    else if (b.length >= 6 && ascii(b, 0, 6) == "#?RGBE" || b.length >= 10 && ascii(b, 0, 10) == "#?RADIANCE")
      Some("Radiance HDR")
    else if (b.length >= 12 && be32(b, 0) == 12 && ascii(b, 4, 4) == "jP  " && be32(b, 8) == 0x0d0a870aL)
      Some("JPEG 2000")
    else if (b.length >= 4 && be32(b, 0) == 0x762f3101L) Some("OpenEXR")
    else None

  private def isSpace(c: Byte): Boolean = c == ' ' || c == '\t' || c == '\n' || c == '\r'

  /** 42 for a classic TIFF, 43 for a BigTIFF (64-bit offsets). */
  private def tiffVersion(b: Array[Byte]): Option[Int] =
    if (b.length < 8) None
    else if (ascii(b, 0, 2) == "II" && b(3) == 0 && (b(2) == 42 || b(2) == 43)) Some(b(2).toInt)
    else if (ascii(b, 0, 2) == "MM" && b(2) == 0 && (b(3) == 42 || b(3) == 43)) Some(b(3).toInt)
    else None

  /** (width, height) as the header gives them; None when the header cannot be read. */
  def dimensions(b: Array[Byte]): Option[(Long, Long)] = try format(b) match {
      case Some("PNG") if b.length >= 24 => Some((be32(b, 16), be32(b, 20)))
      case Some("GIF") if b.length >= 10 => Some((le16(b, 6).toLong, le16(b, 8).toLong))
      case Some("BMP") if b.length >= 26 =>
        Some((math.abs(le32(b, 18).toInt).toLong, math.abs(le32(b, 22).toInt).toLong))
      case Some("JPEG") => jpegFrameSize(b)
      case Some("TIFF") => tiffSize(b)
      case Some("WebP") => webpSize(b)
      case Some("PNM") => pnmSize(b)
      case Some("PFM") => headerNumbers(b, 2, 2).map { case Seq(w, h) => (w, h) }
      case Some("Sun raster") if b.length >= 12 => Some((be32(b, 4), be32(b, 8)))
      case Some("Radiance HDR") => hdrSize(b)
      case Some("JPEG 2000") => jp2Size(b)
      case Some("OpenEXR") => exrSize(b)
      case _ => None
    }
  catch {
    // A header that ends or points outside the bytes: OpenCV will not decode it either.
    case _: IndexOutOfBoundsException | _: NumberFormatException => None
  }

  private def u64(little: Boolean, b: Array[Byte], i: Int): Long =
    if (little) le32(b, i) | (le32(b, i + 4) << 32) else (be32(b, i) << 32) | be32(b, i + 4)

  /** ImageWidth (256) and ImageLength (257) of the first directory, the page that OpenCV decodes. */
  private def tiffSize(b: Array[Byte]): Option[(Long, Long)] = {
    val little = b(0) == 'I'
    val big = tiffVersion(b).contains(43)
    def s(i: Int): Int = if (little) le16(b, i) else be16(b, i)
    def l(i: Int): Long = if (little) le32(b, i) else be32(b, i)
    val ifd = if (big) u64(little, b, 8) else l(4)
    if (ifd <= 0 || ifd >= b.length) return None
    val (count, first, entrySize, valueAt) =
      if (big) (u64(little, b, ifd.toInt), ifd.toInt + 8, 20, 12) else (s(ifd.toInt).toLong, ifd.toInt + 2, 12, 8)
    def value(tag: Int): Option[Long] = (0L until count).iterator.map(k => first + (k * entrySize).toInt)
      .takeWhile(_ + entrySize <= b.length).find(e => s(e) == tag).flatMap { e =>
        // libtiff reads the size from any integer type (BYTE, SHORT, LONG, their signed forms, LONG8, SLONG8).
        s(e + 2) match {
          case 1 | 6 => Some(u8(b, e + valueAt).toLong)
          case 3 | 8 => Some(s(e + valueAt).toLong)
          case 4 | 9 => Some(l(e + valueAt))
          case 16 | 17 if big => Some(u64(little, b, e + valueAt))
          case _ => None
        }
      }
    for (w <- value(256); h <- value(257)) yield (w, h)
  }

  /** The canvas of an extended file (VP8X), else the frame of a lossy (VP8) or lossless (VP8L) one. */
  private def webpSize(b: Array[Byte]): Option[(Long, Long)] = {
    val data = 20
    def le24(i: Int): Long = le16(b, i).toLong | (u8(b, i + 2).toLong << 16)
    ascii(b, 12, 4) match {
      case "VP8X" => Some((le24(data + 4) + 1, le24(data + 7) + 1))
      case "VP8L" if u8(b, data) == 0x2f =>
        val bits = le32(b, data + 1)
        Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
      case "VP8 " if u8(b, data + 3) == 0x9d && u8(b, data + 4) == 0x01 && u8(b, data + 5) == 0x2a =>
        Some(((le16(b, data + 6) & 0x3fff).toLong, (le16(b, data + 8) & 0x3fff).toLong))
      case _ => None
    }
  }

  /**
   * The first `n` decimal numbers after the magic (`skip` bytes) of a Netpbm-style text header, skipping
   * whitespace and `#` comments.
   */
  private def headerNumbers(b: Array[Byte], skip: Int, n: Int): Option[Seq[Long]] = {
    var i = skip
    val found = Seq.newBuilder[Long]
    for (_ <- 0 until n) {
      while (i < b.length && (isSpace(b(i)) || b(i) == '#')) {
        if (b(i) == '#') while (i < b.length && b(i) != '\n' && b(i) != '\r') i += 1 else i += 1
      }
      val start = i
      while (i < b.length && b(i) >= '0' && b(i) <= '9' && i - start < 18) i += 1
      if (i == start) return None
      found += ascii(b, start, i - start).toLong
    }
    Some(found.result())
  }

  /** Where `pattern` first occurs in `b` from `from`, or -1: headers are found in the bytes, not in a String copy. */
  private def indexOf(b: Array[Byte], pattern: String, from: Int): Int = {
    val p = pattern.getBytes("ISO-8859-1")
    (from to b.length - p.length).find(i => p.indices.forall(k => b(i + k) == p(k))).getOrElse(-1)
  }

  /** P1 to P6 give width and height first; P7 (PAM) names them in header lines up to ENDHDR. */
  private def pnmSize(b: Array[Byte]): Option[(Long, Long)] =
    if (b(1) != '7') headerNumbers(b, 2, 2).map { case Seq(w, h) => (w, h) }
    else {
      val end = indexOf(b, "ENDHDR", 0)
      if (end < 0) return None
      val header = ascii(b, 0, end)
      def field(name: String) = header.linesIterator.map(_.trim.split("\\s+")).collectFirst {
        case Array(`name`, v) if v.nonEmpty && v.forall(_.isDigit) && v.length < 19 => v.toLong
      }
      for (w <- field("WIDTH"); h <- field("HEIGHT")) yield (w, h)
    }

  /** After the header lines and a blank line, OpenCV reads the size as "-Y height +X width". */
  private def hdrSize(b: Array[Byte]): Option[(Long, Long)] = {
    val blank = indexOf(b, "\n\n", 0)
    if (blank < 0) return None
    val lineEnd = indexOf(b, "\n", blank + 2)
    val Size = """-Y (\d{1,18}) \+X (\d{1,18})""".r
    ascii(b, blank + 2, (if (lineEnd < 0) b.length else lineEnd) - blank - 2).trim match {
      case Size(h, w) => Some((w.toLong, h.toLong))
      case _ => None
    }
  }

  /** The image header box (ihdr: height, width) inside the JP2 header box (jp2h). */
  private def jp2Size(b: Array[Byte]): Option[(Long, Long)] = {
    def boxes(from: Int, until: Int): Iterator[(String, Int, Int)] = Iterator.unfold(from) { i =>
      if (i + 8 > until) None
      else {
        val length = be32(b, i)
        val (contentAt, end) =
          if (length == 1) (i + 16, i + u64(little = false, b, i + 8))
          else if (length == 0) (i + 8, until.toLong)
          else (i + 8, i + length)
        if (length != 0 && length != 1 && length < 8 || end > until) None
        else Some(((ascii(b, i + 4, 4), contentAt, end.toInt), end.toInt))
      }
    }
    boxes(0, b.length).collectFirst { case ("jp2h", from, until) => boxes(from, until) }.flatMap(_.collectFirst {
      case ("ihdr", at, end) if at + 8 <= end => (be32(b, at + 4), be32(b, at))
    })
  }

  /** The dataWindow attribute (box2i: xMin, yMin, xMax, yMax) of the first header. */
  private def exrSize(b: Array[Byte]): Option[(Long, Long)] = {
    var i = 8
    def cString(): String = {
      val start = i
      while (b(i) != 0) i += 1
      i += 1
      ascii(b, start, i - 1 - start)
    }
    while (i < b.length && b(i) != 0) {
      val name = cString()
      cString()
      val size = le32(b, i).toInt
      i += 4
      if (name == "dataWindow" && size == 16) {
        val Seq(x0, y0, x1, y1) = (0 until 4).map(k => le32(b, i + 4 * k).toInt.toLong)
        return Some((x1 - x0 + 1, y1 - y0 + 1))
      }
      if (size < 0) return None
      i += size
    }
    None
  }

  private def isFrameMarker(m: Int): Boolean = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc

  /** Walks the JPEG segments up to the first start-of-frame marker. */
  private def jpegFrameSize(b: Array[Byte]): Option[(Long, Long)] = {
    var i = 2
    while (i + 9 < b.length) {
      if (u8(b, i) != 0xff) return None
      val marker = u8(b, i + 1)
      if (marker == 0xff) i += 1
      else if (marker == 0x01 || marker >= 0xd0 && marker <= 0xd7) i += 2 // TEM, RSTn: no length field
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
