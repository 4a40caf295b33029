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
        new ImageDecoder().setColorMode("unchanged").setDropInvalid(true).setErrorCol("problem").setMaxPixels(200), files))
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
    Seq("mem:/color.png", "mem:/grey.png", "mem:/alpha.png", "mem:/photo.jpg").foreach(p => assert(out(p).isNullAt(out(p).fieldIndex("error"))))

    val text = out("mem:/not-an-image.txt")
    assert(text.isNullAt(text.fieldIndex("image")))
    assert(text.getAs[String]("error").contains("column 'content', image 'mem:/not-an-image.txt': cannot decode 12 bytes"))
    val cut = out("mem:/cut.png").getAs[String]("error")
    assert(cut.contains("'mem:/cut.png'") && cut.contains("PNG") && cut.contains("truncated"), cut)
    val nothing = out("mem:/null.png")
    assert(nothing.isNullAt(nothing.fieldIndex("image")) && nothing.isNullAt(nothing.fieldIndex("error")))
  }

  test("unchanged keeps grey and alpha channels; grayscale gives one channel") {
    val unchanged = decoded(new ImageDecoder().setColorMode("unchanged"), TestImages.mixedFiles(spark))
    assert(unchanged("mem:/grey.png").getAs[Row]("image").getAs[Array[Byte]]("data").toSeq == TestImages.pattern(9, 7, 1).toSeq)
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

  test("pathCol: a default that does not exist gives null origins; an explicit one must exist") {
    val bytesOnly = TestImages.mixedFiles(spark).select("content")
    val out = new ImageDecoder().transform(bytesOnly).where(col("image").isNotNull).head()
    assert(out.getAs[Row]("image").isNullAt(0))
    val e = intercept[IllegalArgumentException](new ImageDecoder().setPathCol("file").transform(bytesOnly))
    assert(e.getMessage.contains("'file' does not exist"))
    val e2 = intercept[IllegalArgumentException](new ImageDecoder().setInputCol("path").transform(TestImages.mixedFiles(spark)))
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
    val ours = new ImageDecoder().setColorMode("unchanged").transform(spark.read.format("binaryFile").load(dir.toString))
    assert(ours.schema("image").dataType == spark4.schema("image").dataType)
    def pixels(df: org.apache.spark.sql.DataFrame) = df.select("image.*").collect()
      .map(r => (r.getString(0).split("/").last, r.getInt(1), r.getInt(2), r.getInt(3), r.getInt(4), r.getAs[Array[Byte]](5).toSeq)).toSet
    assert(pixels(ours) == pixels(spark4))
  }

  test("the camera-trap folder: every file decodes except the truncated one; EXIF rotation applied; never fails") {
    assume(TestImages.cameraTraps.isDefined, "needs ../shared/data/camera-traps")
    val dir = TestImages.cameraTraps.get
    val out = ImageReader.read(spark, dir.getPath).select("path", "image.height", "image.width", "image.nChannels", "error").collect()
    assert(out.length == TestImages.cameraTrapFiles.length)
    val (bad, good) = out.partition(_.getString(0).contains("truncated"))
    assert(good.forall(r => r.isNullAt(4) && r.getInt(3) == 3))
    assert(bad.length == 1 && bad.head.isNullAt(1) && bad.head.getString(4).contains("african_elephants_truncated_file.jpg"))
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
