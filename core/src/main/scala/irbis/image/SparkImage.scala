package irbis.image

import java.lang.ref.Reference

import irbis.core.Columns
import org.apache.spark.ml.image.ImageSchema
import org.apache.spark.sql.Row
import org.apache.spark.sql.types.{BinaryType, DataType, StructType}
import org.bytedeco.javacpp.{BytePointer, DoublePointer, FloatPointer}
import org.bytedeco.opencv.global.opencv_core._
import org.bytedeco.opencv.opencv_core.{Mat, MatVector}

/** One image as Spark's image schema holds it (what the UDFs return; Spark encodes it as that struct). */
case class ImageRecord(origin: String, height: Int, width: Int, nChannels: Int, mode: Int, data: Array[Byte])

/**
 * Spark's image schema (`spark.read.format("image")`): origin, height, width, nChannels, mode (the OpenCV
 * type), data (8-bit pixels, row-major, channels interleaved in BGR or BGRA order, no row padding).
 * Conversions to and from OpenCV Mats copy whole buffers, never pixel by pixel. A Mat whose `data()` is being
 * copied is fenced until the copy ends: JavaCPP frees an unreachable Mat's memory from its GC thread.
 */
object SparkImage {

  /** `column` must hold image structs or binary (encoded image files); the error names the stage and column. */
  def requireImageOrBytes(schema: StructType, stage: String, column: String): Unit =
    Columns.requireType(schema, stage, column,
      "an image struct (Spark's image schema) or binary (encoded image files)")(t => isImage(t) || t == BinaryType)

  /** Field for field `ImageSchema.columnSchema`, all nullable, exactly as the image data source returns it. */
  val schema: StructType = StructType(ImageSchema.columnSchema.fields.map(_.copy(nullable = true)))

  def isImage(t: DataType): Boolean = t match {
    case s: StructType => schema.fields.forall(f => s.fieldNames.contains(f.name) && s(f.name).dataType == f.dataType)
    case _ => false
  }

  def requireImageColumn(input: StructType, stage: String, column: String): Unit =
    Columns.requireType(input, stage, column, s"an image struct (Spark's image schema: ${schema.simpleString})")(
      isImage)

  def origin(row: Row): String = row.getAs[String]("origin")

  def record(row: Row): ImageRecord = ImageRecord(origin(row), row.getAs[Int]("height"), row.getAs[Int]("width"),
    row.getAs[Int]("nChannels"), row.getAs[Int]("mode"), row.getAs[Array[Byte]]("data"))

  /** The row's pixels as a Mat that owns a native copy of them (8-bit, 1, 3 or 4 channels). */
  def toMat(row: Row): Mat = {
    OpenCV.ensureLoaded()
    val (h, w, c) = (row.getAs[Int]("height"), row.getAs[Int]("width"), row.getAs[Int]("nChannels"))
    val mode = row.getAs[Int]("mode")
    val data = row.getAs[Array[Byte]]("data")
    if (!Seq(1, 3, 4).contains(c) || mode != CV_8UC(c)) throw new ImageException(
      s"expected 8-bit pixels with 1, 3 or 4 channels (mode ${CV_8UC1}, ${CV_8UC3} or ${CV_8UC4}), " +
        s"got nChannels $c and mode $mode")
    if (h <= 0 || w <= 0) throw new ImageException(s"expected a positive height and width, got ${h}x$w")
    if (data == null || data.length.toLong != h.toLong * w * c) throw new ImageException(
      s"expected $h x $w x $c = ${h.toLong * w * c} bytes of data, got ${Option(data).map(_.length).getOrElse(0)}")
    new Mat(h, w, CV_8UC(c), new BytePointer(data: _*))
  }

  /** An 8-bit Mat (1, 3 or 4 channels) as an image record. */
  def toRecord(m: Mat, origin: String): ImageRecord = {
    if (m.depth() != CV_8U) throw new ImageException(
      s"the result has ${depthName(m.depth())} pixels; Spark's image schema holds 8-bit pixels only (use toTensor)")
    if (!Seq(1, 3, 4).contains(m.channels())) throw new ImageException(
      s"the result has ${m.channels()} channels; Spark's image schema holds 1, 3 or 4")
    ImageRecord(origin, m.rows(), m.cols(), m.channels(), m.`type`(), bytes(m))
  }

  def bytes(m: Mat): Array[Byte] = {
    val c = continuous(m)
    val out = new Array[Byte]((c.total() * c.elemSize()).toInt)
    c.data().capacity(out.length.toLong).get(out)
    Reference.reachabilityFence(c)
    out
  }

  def floats(m: Mat): Array[Float] = {
    val out = new Array[Float]((m.total() * m.channels()).toInt)
    copyFloats(m, out, 0)
    out
  }

  /** Copies a CV_32F Mat's values into `out` from `offset` on. */
  def copyFloats(m: Mat, out: Array[Float], offset: Int): Unit = {
    require(m.depth() == CV_32F, s"expected float pixels, got ${depthName(m.depth())}")
    val c = continuous(m)
    val n = (c.total() * c.channels()).toInt
    new FloatPointer(c.data()).capacity(n.toLong).get(out, offset, n)
    Reference.reachabilityFence(c)
  }

  /** The channels of a Mat as separate single-channel Mats. */
  def planes(m: Mat): MatVector = {
    val v = new MatVector()
    split(m, v)
    v
  }

  /** Every value as a double, channel-major: all of channel 0 (row by row), then channel 1, ... */
  def doublesChannelMajor(m: Mat): Array[Double] = {
    val f = new Mat()
    m.convertTo(f, CV_64F)
    val ps = planes(f)
    val n = (f.total()).toInt
    val out = new Array[Double](n * f.channels())
    (0 until f.channels()).foreach { c =>
      val p = continuous(ps.get(c.toLong))
      new DoublePointer(p.data()).capacity(n.toLong).get(out, c * n, n)
      Reference.reachabilityFence(p)
    }
    Reference.reachabilityFence(ps)
    out
  }

  def continuous(m: Mat): Mat = if (m.isContinuous) m else m.clone()

  def depthName(depth: Int): String = depth match {
    case d if d == CV_8U => "8-bit unsigned"
    case d if d == CV_8S => "8-bit signed"
    case d if d == CV_16U => "16-bit unsigned"
    case d if d == CV_16S => "16-bit signed"
    case d if d == CV_32S => "32-bit integer"
    case d if d == CV_32F => "32-bit float"
    case d if d == CV_64F => "64-bit float"
    case d => s"depth-$d"
  }
}

/** A problem with one image: the row gets a null result and this message (with stage and origin) as its error. */
class ImageException(message: String) extends RuntimeException(message)
