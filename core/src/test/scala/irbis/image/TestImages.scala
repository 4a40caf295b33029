package irbis.image

import java.io.File
import java.nio.file.Files

import scala.jdk.CollectionConverters._

import org.apache.spark.sql.{DataFrame, Row, SparkSession}
import org.apache.spark.sql.types.{BinaryType, StringType, StructField, StructType}
import org.bytedeco.javacpp.BytePointer
import org.bytedeco.opencv.global.opencv_core._
import org.bytedeco.opencv.global.opencv_imgcodecs.imencode
import org.bytedeco.opencv.opencv_core.Mat

/** Small synthetic images (made with OpenCV, so the tests need no files) and the shared camera-trap folder. */
object TestImages {

  /** A deterministic pattern: every channel of every pixel differs, so flips and channel swaps show. */
  def pattern(height: Int, width: Int, channels: Int): Array[Byte] =
    Array.tabulate(height * width * channels) { i =>
      val (y, x, c) = (i / (width * channels), (i / channels) % width, i % channels)
      ((y * 37 + x * 11 + c * 71) % 256).toByte
    }

  def mat(height: Int, width: Int, channels: Int): Mat = {
    OpenCV.ensureLoaded()
    new Mat(height, width, CV_8UC(channels), new BytePointer(pattern(height, width, channels): _*)).clone()
  }

  def record(height: Int, width: Int, channels: Int, origin: String): ImageRecord =
    ImageRecord(origin, height, width, channels, CV_8UC(channels), pattern(height, width, channels))

  def encode(m: Mat, ext: String): Array[Byte] = {
    val out = new BytePointer()
    require(imencode(ext, m, out), s"cannot encode $ext")
    val bytes = new Array[Byte](out.limit().toInt)
    out.get(bytes)
    bytes
  }

  def png(height: Int, width: Int, channels: Int): Array[Byte] = encode(mat(height, width, channels), ".png")

  def imageRow(r: ImageRecord): Row = Row(r.origin, r.height, r.width, r.nChannels, r.mode, r.data)

  /** A DataFrame with an `id` and an `image` column in Spark's image schema (a null image for None). */
  def images(spark: SparkSession, records: Seq[Option[ImageRecord]]): DataFrame = {
    val schema = StructType(Seq(StructField("id", StringType), StructField("image", SparkImage.schema)))
    val rows = records.zipWithIndex.map { case (r, i) => Row(s"row$i", r.map(imageRow).orNull) }
    spark.createDataFrame(rows.asJava, schema)
  }

  /** Like binaryFile's output: `path` and `content`. */
  def files(spark: SparkSession, files: Seq[(String, Array[Byte])]): DataFrame = {
    val schema = StructType(Seq(StructField("path", StringType), StructField("content", BinaryType)))
    spark.createDataFrame(files.map { case (p, b) => Row(p, b) }.asJava, schema)
  }

  /** A few encoded files: colour, grey and BGRA PNGs, a JPEG, and two that cannot be decoded. */
  def mixedFiles(spark: SparkSession): DataFrame = files(spark,
    Seq(
      "mem:/color.png" -> png(12, 16, 3),
      "mem:/grey.png" -> png(9, 7, 1),
      "mem:/alpha.png" -> png(8, 10, 4),
      "mem:/photo.jpg" -> encode(mat(20, 30, 3), ".jpg"),
      "mem:/not-an-image.txt" -> "hello, world".getBytes("UTF-8"),
      "mem:/cut.png" -> png(12, 16, 3).take(60),
      "mem:/null.png" -> null))

  /** `../shared/data/camera-traps` next to the repository (searched upwards from the working directory). */
  lazy val cameraTraps: Option[File] =
    Iterator.iterate(new File(".").getAbsoluteFile)(_.getParentFile).takeWhile(_ != null)
      .map(d => new File(d, "shared/data/camera-traps")).find(_.isDirectory)

  def cameraTrapFiles: Seq[File] = cameraTraps.toSeq.flatMap { dir =>
    Files.walk(dir.toPath).iterator().asScala.map(_.toFile).filter(f =>
      f.isFile && f.getName.endsWith(".jpg")).toSeq.sortBy(_.getPath)
  }
}
