package irbis.image

import java.nio.file.Files

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.{Row, SparkSession}
import org.apache.spark.sql.functions.col

class ImageDecoderExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val files = TestImages.mixedFiles(spark)
    Seq(
      StageExample("ImageDecoder", new ImageDecoder(), files),
      StageExample("ImageDecoder-grayscale", new ImageDecoder().setColorMode("grayscale").setOutputCol("grey"), files),
      StageExample("ImageDecoder-unchanged-dropInvalid",
        new ImageDecoder().setColorMode("unchanged").setDropInvalid(true).setErrorCol("problem").setMaxPixels(200),
        files))
  }
}

class ImageDecoderSuite extends SparkSuite {
  private def decoded(d: ImageDecoder, files: org.apache.spark.sql.DataFrame): Map[String, Row] =
    d.transform(files).collect().map(r => r.getAs[String]("path") -> r).toMap

  test("colour, grey and alpha PNGs, a JPEG; bad bytes give a null image and a message naming the file") {
    val out = decoded(new ImageDecoder(), TestImages.mixedFiles(spark))
    def image(p: String) = out(p).getAs[Row]("image")
    assert(image("mem:/color.png").getAs[Array[Byte]]("data").toSeq == TestImages.pattern(12, 16, 3).toSeq)
    assert(image("mem:/color.png").getAs[String]("origin") == "mem:/color.png")
    assert(image("mem:/grey.png").getAs[Int]("nChannels") == 3)
    assert(image("mem:/alpha.png").getAs[Int]("mode") == 16)
    assert(image("mem:/photo.jpg").getAs[Int]("height") == 20)
    Seq("mem:/color.png", "mem:/grey.png", "mem:/alpha.png", "mem:/photo.jpg").foreach(p =>
      assert(out(p).isNullAt(out(p).fieldIndex("error"))))

    val text = out("mem:/not-an-image.txt")
    assert(text.isNullAt(text.fieldIndex("image")))
    assert(
      text.getAs[String]("error").contains("column 'content', image 'mem:/not-an-image.txt': cannot decode 12 bytes"))
    val cut = out("mem:/cut.png").getAs[String]("error")
    assert(cut.contains("'mem:/cut.png'") && cut.contains("PNG") && cut.contains("truncated"), cut)
    val nothing = out("mem:/null.png")
    assert(nothing.isNullAt(nothing.fieldIndex("image")) && nothing.isNullAt(nothing.fieldIndex("error")))
  }

  test("unchanged keeps grey and alpha channels; grayscale gives one channel") {
    val unchanged = decoded(new ImageDecoder().setColorMode("unchanged"), TestImages.mixedFiles(spark))
    assert(unchanged("mem:/grey.png").getAs[Row]("image").getAs[Array[Byte]]("data").toSeq == TestImages.pattern(9, 7,
      1).toSeq)
    val alpha = unchanged("mem:/alpha.png").getAs[Row]("image")
    assert(alpha.getAs[Int]("nChannels") == 4 && alpha.getAs[Int]("mode") == 24)
    assert(alpha.getAs[Array[Byte]]("data").toSeq == TestImages.pattern(8, 10, 4).toSeq)
    val grey = decoded(new ImageDecoder().setColorMode("grayscale"), TestImages.mixedFiles(spark))
    assert(grey("mem:/color.png").getAs[Row]("image").getAs[Int]("nChannels") == 1)
  }

  test("16-bit PNG keeps the high byte, as IMREAD_COLOR does, in every colour mode") {
    OpenCV.ensureLoaded()
    val wide = new org.bytedeco.opencv.opencv_core.Mat(3, 5, org.bytedeco.opencv.global.opencv_core.CV_16UC3)
    val values = Array.tabulate(45)(i => (i * 1499 + 255).toChar)
    new org.bytedeco.javacpp.CharPointer(wide.data()).put(values: _*)
    val files = TestImages.files(spark, Seq("mem:/16bit.png" -> TestImages.encode(wide, ".png")))
    Seq("color", "unchanged").foreach { mode =>
      val img = new ImageDecoder().setColorMode(mode).transform(files).head().getAs[Row]("image")
      assert(img.getAs[Array[Byte]]("data").toSeq.map(_ & 0xff) == values.toSeq.map(_ >> 8), mode)
    }
  }

  test("maxPixels refuses a large image with a message naming the file, before decoding") {
    val out = decoded(new ImageDecoder().setMaxPixels(100), TestImages.mixedFiles(spark))
    val msg = out("mem:/color.png").getAs[String]("error")
    assert(msg.contains("'mem:/color.png'") && msg.contains("16x12 = 192 pixels, more than maxPixels = 100"), msg)
    assert(out("mem:/grey.png").getAs[Row]("image") != null)
  }

  test("every format this OpenCV encodes has its size read from the header, as OpenCV decodes it") {
    OpenCV.ensureLoaded()
    val colour = TestImages.mat(29, 41, 3)
    val floats = new org.bytedeco.opencv.opencv_core.Mat()
    colour.convertTo(floats, org.bytedeco.opencv.global.opencv_core.CV_32FC3, 1.0 / 255, 0)
    val grey = TestImages.mat(29, 41, 1)
    val formats = Seq(".png", ".jpg", ".bmp", ".gif", ".tiff", ".webp", ".ppm", ".pam", ".sr").map(_ -> colour) ++
      Seq(".pgm", ".pbm").map(_ -> grey) ++ Seq(".pfm", ".hdr").map(_ -> floats)
    formats.foreach { case (ext, m) =>
      val bytes = TestImages.encode(m, ext)
      val encoded = new org.bytedeco.opencv.opencv_core.Mat(1, bytes.length,
        org.bytedeco.opencv.global.opencv_core.CV_8UC1, new org.bytedeco.javacpp.BytePointer(bytes: _*))
      val decoded = org.bytedeco.opencv.global.opencv_imgcodecs.imdecode(encoded,
        org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_UNCHANGED)
      assert((decoded.cols(), decoded.rows()) == (41, 29), ext)
      assert(ImageHeaders.dimensions(bytes).contains((41L, 29L)), s"$ext: ${ImageHeaders.format(bytes)}")
    }
  }

  /** A little-endian TIFF whose one directory claims width x height of 8-bit grey, with no pixel data. */
  private def tiffClaiming(width: Long, height: Long, big: Boolean): Array[Byte] = {
    val b = java.nio.ByteBuffer.allocate(256).order(java.nio.ByteOrder.LITTLE_ENDIAN)
    b.put("II".getBytes)
    if (big) { b.putShort(43); b.putShort(8); b.putShort(0); b.putLong(16) }
    else { b.putShort(42); b.putInt(8) }
    if (big) b.position(16)
    val entries = Seq((256, width), (257, height), (258, 8L), (259, 1L), (262, 1L), (273, 200L), (277, 1L),
      (278, height), (279, width * height))
    if (big) b.putLong(entries.size.toLong) else b.putShort(entries.size.toShort)
    entries.foreach { case (tag, v) =>
      b.putShort(tag.toShort)
      if (big) { b.putShort(16); b.putLong(1); b.putLong(v) }
      else { b.putShort(4); b.putInt(1); b.putInt(v.toInt) }
    }
    java.util.Arrays.copyOf(b.array(), b.position() + 8)
  }

  test("a TIFF decompression bomb is refused from its header, never decoded; sizes past 2^63 do not wrap") {
    val bomb = tiffClaiming(20000, 20000, big = false)
    val bigTiff = tiffClaiming(1L << 32, 1L << 32, big = true)
    val webp = "RIFF".getBytes ++ Array[Byte](22, 0, 0, 0) ++ "WEBPVP8X".getBytes ++
      Array[Byte](10, 0, 0, 0, 0, 0, 0, 0) ++
      Array(0x3e, 0x3f, 0, 0x3e, 0x3f, 0).map(_.toByte) // a 16191 x 16191 canvas
    val files =
      TestImages.files(spark, Seq("mem:/bomb.tiff" -> bomb, "mem:/big.tiff" -> bigTiff, "mem:/x.webp" -> webp))
    val out = decoded(new ImageDecoder(), files)
    def error(p: String) = { assert(out(p).getAs[Row]("image") == null); out(p).getAs[String]("error") }
    // Decoded first, the bomb would cost 1.2 GB and then fail on its missing strips ("cannot decode").
    assert(error("mem:/bomb.tiff").contains(
        "image 'mem:/bomb.tiff': the image is 20000x20000 = 400000000 pixels, more than maxPixels = 100000000"))
    assert(error("mem:/big.tiff").contains("4294967296x4294967296 = 18446744073709551616 pixels, more than maxPixels"))
    assert(error("mem:/x.webp").contains("16191x16191 = 262148481 pixels, more than maxPixels"))
  }

  test("pathCol: a default that does not exist gives null origins; an explicit one must exist") {
    val bytesOnly = TestImages.mixedFiles(spark).select("content")
    val out = new ImageDecoder().transform(bytesOnly).where(col("image").isNotNull).head()
    assert(out.getAs[Row]("image").isNullAt(0))
    val e = intercept[IllegalArgumentException](new ImageDecoder().setPathCol("file").transform(bytesOnly))
    assert(e.getMessage.contains("'file' does not exist"))
    val e2 = intercept[IllegalArgumentException](
      new ImageDecoder().setInputCol("path").transform(TestImages.mixedFiles(spark)))
    assert(e2.getMessage.contains("'path' has type string; expected binary"))
  }

  test("an existing error column keeps its messages; new ones fill its nulls") {
    val files = TestImages.mixedFiles(spark).withColumn("error",
      org.apache.spark.sql.functions.when(col("path") === "mem:/color.png", "earlier problem"))
    val out = decoded(new ImageDecoder(), files)
    assert(out("mem:/color.png").getAs[String]("error") == "earlier problem")
    assert(out("mem:/not-an-image.txt").getAs[String]("error").contains("cannot decode"))
  }

  test("the schema is Spark's image schema; PNGs decode to the same pixels as spark.read.format(\"image\")") {
    val dir = Files.createTempDirectory("irbis-png")
    Files.write(dir.resolve("a.png"), TestImages.png(12, 16, 3))
    Files.write(dir.resolve("b.png"), TestImages.png(9, 7, 1))
    val spark4 = spark.read.format("image").load(dir.toString)
    val ours =
      new ImageDecoder().setColorMode("unchanged").transform(spark.read.format("binaryFile").load(dir.toString))
    assert(ours.schema("image").dataType == spark4.schema("image").dataType)
    def pixels(df: org.apache.spark.sql.DataFrame) = df.select("image.*").collect()
      .map(r =>
        (r.getString(0).split("/").last, r.getInt(1), r.getInt(2), r.getInt(3), r.getInt(4),
          r.getAs[Array[Byte]](5).toSeq)).toSet
    assert(pixels(ours) == pixels(spark4))
  }

  test("the camera-trap folder: every file decodes except the truncated one; EXIF rotation applied; never fails") {
    assume(TestImages.cameraTraps.isDefined, "needs ../shared/data/camera-traps")
    val dir = TestImages.cameraTraps.get
    val out = ImageReader.read(spark, dir.getPath).select("path", "image.height", "image.width", "image.nChannels",
      "error").collect()
    assert(out.length == TestImages.cameraTrapFiles.length)
    val (bad, good) = out.partition(_.getString(0).contains("truncated"))
    assert(good.forall(r => r.isNullAt(4) && r.getInt(3) == 3))
    assert(
      bad.length == 1 && bad.head.isNullAt(1) && bad.head.getString(4).contains("african_elephants_truncated_file.jpg"))
    assert(bad.head.getString(4).contains("truncated"), bad.head.getString(4))
    val exif = good.find(_.getString(0).endsWith("with_exif_orientation.jpg")).get
    assert((exif.getInt(1), exif.getInt(2)) == (1536, 2048))
    val rotated = new ImageDecoder().setColorMode("unchanged").transform(
      spark.read.format("binaryFile").load(dir.getPath + "/other/african_elephants_with_exif_orientation.jpg"))
      .select("image.height", "image.width").head()
    assert((rotated.getInt(0), rotated.getInt(1)) == (1536, 2048))
  }

  test("dropInvalid drops the undecodable and null rows, keeps every decodable one with its pixels") {
    val files = TestImages.mixedFiles(spark).withColumn("n", org.apache.spark.sql.functions.length(col("path")))
    val input = files.collect().map(r => r.getAs[String]("path") -> r.getAs[Array[Byte]]("content"))
    // The reference: OpenCV's own imdecode on each file's bytes, outside the stage.
    OpenCV.ensureLoaded()
    val reference = input.flatMap { case (p, bytes) =>
      Option(bytes).flatMap { b =>
        val encoded = new org.bytedeco.opencv.opencv_core.Mat(1, b.length,
          org.bytedeco.opencv.global.opencv_core.CV_8UC1, new org.bytedeco.javacpp.BytePointer(b: _*))
        val m = org.bytedeco.opencv.global.opencv_imgcodecs.imdecode(encoded,
          org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR)
        if (m == null || m.empty()) None else Some(p -> SparkImage.bytes(m))
      }
    }.toMap
    assert(reference.size == 4 && reference.size < input.length && input.exists(_._2 == null))

    val out = new ImageDecoder().setDropInvalid(true).transform(files)
    assert(out.columns.toSeq == files.columns.toSeq ++ Seq("image", "error"))
    val rows = out.collect()
    assert(rows.map(_.getAs[String]("path")).sorted.toSeq == reference.keys.toSeq.sorted)
    rows.foreach { r =>
      val p = r.getAs[String]("path")
      assert(r.isNullAt(r.fieldIndex("error")), p)
      assert(r.getAs[Int]("n") == p.length)
      assert(r.getAs[Row]("image").getAs[Array[Byte]]("data").toSeq == reference(p).toSeq, p)
    }
    assert(new ImageDecoder().transform(files).count() == input.length)
  }
}
