package irbis.image

import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.sql.functions.{col, lit, pmod, xxhash64}

/**
 * Reads image files into a DataFrame: `binaryFile` listing (recursive, filtered by a file-name glob),
 * an optional sample drawn before any file is read, then [[ImageDecoder]]. The file path stays in the
 * `path` column (and in the image's origin) for joins with labels.
 *
 * {{{
 *   val images = ImageReader.read(spark, "/data/camera-traps", sampleRatio = 0.1)
 * }}}
 */
object ImageReader {

  /** File names that OpenCV decodes, in either case. */
  val ImageFiles: String = {
    val ext = Seq("jpg", "jpeg", "jpe", "png", "bmp", "dib", "gif", "tif", "tiff", "webp", "jp2", "pbm", "pgm", "ppm",
      "pnm", "pxm", "sr", "ras", "hdr", "pic", "exr")
    "*.{" + (ext ++ ext.map(_.toUpperCase)).mkString(",") + "}"
  }

  private val SampleBuckets = 1000000000L

  /**
   * The files under `path` (a file, a directory, or a Hadoop glob such as `/data/2024-*`) as binaryFile
   * rows: path, modificationTime, length, content. With `sampleRatio` < 1 each file is kept with that
   * probability, decided by a hash of its path and `seed`: the same files for the same seed, however the
   * folder is split, and the others are never read.
   */
  def readBinary(spark: SparkSession, path: String, recursive: Boolean, pathGlobFilter: String,
                 sampleRatio: Double, seed: Long): DataFrame = {
    require(sampleRatio > 0 && sampleRatio <= 1, s"ImageReader: sampleRatio must be in (0, 1], got $sampleRatio")
    def reader = {
      val r = spark.read.format("binaryFile").option("recursiveFileLookup", recursive.toString)
      if (pathGlobFilter == null || pathGlobFilter.isEmpty) r else r.option("pathGlobFilter", pathGlobFilter)
    }
    if (sampleRatio == 1.0) return reader.load(path)
    val chosen = reader.load(path).select("path")
      .where(pmod(xxhash64(col("path"), lit(seed)), lit(SampleBuckets)) < lit((sampleRatio * SampleBuckets).toLong))
      .collect().map(_.getString(0))
    if (chosen.isEmpty) reader.load(path).limit(0) else reader.load(chosen.map(escapeGlob).toIndexedSeq: _*)
  }

  /** Spark expands globs in every path it loads; a chosen file's own name must be taken literally. */
  private def escapeGlob(p: String): String = p.flatMap(c => if ("\\*?[]{}".indexOf(c) >= 0) s"\\$c" else c.toString)

  /**
   * Decoded images: path, modificationTime, length and the decoder's output and error columns (the encoded
   * bytes are dropped once decoded).
   */
  def read(spark: SparkSession, path: String, recursive: Boolean, pathGlobFilter: String, sampleRatio: Double,
           seed: Long, decoder: ImageDecoder): DataFrame =
    decoder.transform(readBinary(spark, path, recursive, pathGlobFilter, sampleRatio, seed)).drop(decoder.getInputCol)

  def read(spark: SparkSession, path: String, recursive: Boolean = true, pathGlobFilter: String = ImageFiles,
           sampleRatio: Double = 1.0, seed: Long = 0L): DataFrame =
    read(spark, path, recursive, pathGlobFilter, sampleRatio, seed, new ImageDecoder())
}
