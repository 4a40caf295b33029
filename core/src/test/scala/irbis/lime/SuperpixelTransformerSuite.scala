package irbis.lime

import scala.util.Random

import irbis.image.{ImageDecoder, ImageRecord, ResizeImageTransformer, TestImages}
import irbis.testkit.{Compare, ExampleSource, SparkSuite, StageExample}
import org.apache.spark.sql.{Row, SparkSession}
import org.bytedeco.opencv.global.opencv_core.CV_8UC3

class SuperpixelTransformerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = Seq(
    StageExample("SuperpixelTransformer", new SuperpixelTransformer().setCellSize(6),
      TestImages.images(spark,
        Seq(Some(TestImages.record(20, 24, 3, "a")), None, Some(TestImages.record(9, 7, 1, "grey"))))),
    StageExample("SuperpixelTransformer-bytes", new SuperpixelTransformer().setInputCol("content").setModifier(20),
      TestImages.files(spark,
        Seq("mem:/a.png" -> TestImages.png(30, 40, 3), "mem:/b.png" -> TestImages.png(16, 16, 4)))))
}

object SuperpixelChecks {

  /** Every label in 0 until count is used, and every segment is one 4-connected piece. */
  def check(s: Segmentation): Unit = {
    assert(s.labels.length == s.height * s.width)
    assert(s.labels.forall(l => l >= 0 && l < s.count), "every pixel is in exactly one segment")
    assert(s.labels.distinct.length == s.count, "every segment has pixels")
    val seen = new Array[Boolean](s.labels.length)
    val pieces = s.labels.indices.count { start =>
      if (seen(start)) false
      else {
        val stack = scala.collection.mutable.Stack(start); seen(start) = true
        while (stack.nonEmpty) {
          val p = stack.pop(); val (y, x) = (p / s.width, p % s.width)
          Seq((y, x - 1), (y, x + 1), (y - 1, x), (y + 1, x)).foreach { case (yy, xx) =>
            if (yy >= 0 && yy < s.height && xx >= 0 && xx < s.width) {
              val q = yy * s.width + xx
              if (!seen(q) && s.labels(q) == s.labels(p)) { seen(q) = true; stack.push(q) }
            }
          }
        }
        true
      }
    }
    assert(pieces == s.count, s"${s.count} segments but $pieces connected pieces")
  }
}

class SuperpixelTransformerSuite extends SparkSuite {
  private def blocks(h: Int, w: Int, seed: Int): ImageRecord = {
    val rng = new Random(seed)
    val colours = Array.fill(16)(Array.fill(3)(rng.nextInt(256)))
    val data = Array.tabulate(h * w * 3) { i =>
      val (y, x, c) = (i / (w * 3), (i / 3) % w, i % 3)
      val block = ((y * 4 / h) * 4 + x * 4 / w)
      math.max(0, math.min(255, colours(block)(c) + rng.nextInt(21) - 10)).toByte
    }
    ImageRecord(s"blocks$seed", h, w, 3, CV_8UC3, data)
  }

  test("every pixel in exactly one connected segment; count near (H / cellSize) * (W / cellSize); deterministic") {
    for ((h, w, cell) <- Seq((64, 96, 16.0), (50, 70, 10.0), (120, 80, 24.0), (17, 5, 8.0))) {
      val df = TestImages.images(spark, Seq(Some(blocks(h, w, h))))
      val stage = new SuperpixelTransformer().setCellSize(cell)
      val rows = stage.transform(df).select("superpixels").collect()
      val s = LIMEImages.fromRow(rows.head.getStruct(0))
      SuperpixelChecks.check(s)
      val expected = math.max(1L, math.round(h / cell)).toDouble * math.max(1L, math.round(w / cell)).toDouble
      assert(s.count >= 0.5 * expected && s.count <= 1.5 * expected,
        s"${h}x$w, cell $cell: ${s.count} segments, expected about $expected")
      assert(Compare.diff(stage.transform(df), stage.transform(df.repartition(2))) == null)
    }
  }

  test("the default cellSize scales with the image: about 40 superpixels for a thumbnail and a full-size photo alike") {
    for ((h, w) <- Seq((64, 64), (480, 640), (706, 942), (1200, 1600))) {
      val df = TestImages.images(spark, Seq(Some(blocks(h, w, 7))))
      val s = LIMEImages.fromRow(new SuperpixelTransformer().transform(df).head().getAs[Row]("superpixels"))
      SuperpixelChecks.check(s)
      // The grid seeds round(H / c) * round(W / c) cells with c = sqrt(H * W / 40); connectivity may add a few pieces.
      val c = math.sqrt(h.toDouble * w / 40)
      val seeds = math.round(h / c) * math.round(w / c)
      assert(seeds >= 30 && seeds <= 50, s"${h}x$w: $seeds seeds")
      assert(s.count >= 0.5 * seeds && s.count <= 1.5 * seeds, s"${h}x$w: ${s.count} superpixels from $seeds seeds")
    }
    assert(Slic.cellSide(706, 942, 0.0) == math.sqrt(706.0 * 942 / 40) && Slic.cellSide(706, 942, 16.0) == 16.0)
  }

  test("segments follow colour edges: a two-colour image is split along its edge") {
    val (h, w) = (40, 40)
    val data = Array.tabulate(h * w * 3)(i => (if ((i / 3) % w < 23) 20 else 230).toByte)
    val df = TestImages.images(spark, Seq(Some(ImageRecord("edge", h, w, 3, CV_8UC3, data))))
    val s =
      LIMEImages.fromRow(new SuperpixelTransformer().setCellSize(10).transform(df).head().getAs[Row]("superpixels"))
    SuperpixelChecks.check(s)
    for (l <- 0 until s.count) {
      val xs = s.labels.indices.filter(s.labels(_) == l).map(_ % w)
      assert(xs.forall(_ < 23) || xs.forall(_ >= 23), s"segment $l straddles the edge")
    }
  }

  test("camera-trap photos resized to 240 wide: valid segments") {
    val files = TestImages.cameraTrapFiles.filter(_.getPath.contains("snow_leopard")).take(2)
    assume(files.nonEmpty, "shared camera-trap images not found")
    val images = new ImageDecoder()
      .transform(spark.read.format("binaryFile").load(files.map(_.getPath): _*))
    val resized = new ResizeImageTransformer().setInputCol("image").setOutputCol("small").setWidth(240).setHeight(
      160).transform(images)
    val out = new SuperpixelTransformer().setInputCol("small").setCellSize(20).transform(resized).select(
      "superpixels").collect()
    out.foreach { r =>
      val s = LIMEImages.fromRow(r.getStruct(0))
      SuperpixelChecks.check(s)
      assert(s.count >= 48 && s.count <= 144, s"${s.count} segments")
    }
  }

  test("bad input is named") {
    val e = intercept[IllegalArgumentException](new SuperpixelTransformer().transform(TestImages.files(spark,
          Seq("x" -> Array[Byte](1)))))
    assert(e.getMessage.contains("column 'image' does not exist"))
    val e2 = intercept[IllegalArgumentException](new SuperpixelTransformer().setErrorCol("superpixels")
        .transform(TestImages.images(spark, Seq(None))))
    assert(e2.getMessage.contains("'superpixels'"), e2.getMessage)
  }

  test("an image that cannot be decoded or segmented: null superpixels and the reason, the job goes on") {
    val good = TestImages.record(12, 16, 3, "colour")
    val mat = new org.bytedeco.opencv.opencv_core.Mat(good.height, good.width, good.mode,
      new org.bytedeco.javacpp.BytePointer(good.data: _*))
    val files = TestImages.files(spark,
      Seq("mem:/good.png" -> TestImages.encode(mat, ".png"), "mem:/bad.png" -> "hello".getBytes("UTF-8")))
    val rows = new SuperpixelTransformer().setInputCol("content").setCellSize(4).transform(files).collect()
      .map(r => r.getAs[String]("path") -> r).toMap
    SuperpixelChecks.check(LIMEImages.fromRow(rows("mem:/good.png").getAs[Row]("superpixels")))
    assert(rows("mem:/good.png").getAs[String]("error") == null)
    assert(rows("mem:/bad.png").getAs[Row]("superpixels") == null)
    val message = rows("mem:/bad.png").getAs[String]("error")
    assert(message.startsWith("SuperpixelTransformer: column 'content', image with no origin: ") &&
        message.contains("decode"), message)

    val structs =
      TestImages.images(spark, Seq(Some(good), None, Some(good.copy(origin = "broken", data = Array[Byte](1, 2)))))
    val out = new SuperpixelTransformer().setCellSize(4).transform(structs).orderBy("id").collect()
    assert(out(0).getAs[Row]("superpixels") != null && out(0).getAs[String]("error") == null)
    assert(out(1).getAs[Row]("superpixels") == null && out(1).getAs[String]("error") == null,
      "a null image is not an error")
    assert(out(2).getAs[Row]("superpixels") == null)
    assert(out(2).getAs[String]("error").startsWith("SuperpixelTransformer: column 'image', image 'broken': "),
      out(2).getAs[String]("error"))
  }
}
