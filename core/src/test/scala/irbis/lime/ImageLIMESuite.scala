package irbis.lime

import scala.util.Random

import irbis.image.TestImages
import irbis.testkit.{Compare, ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.sql.{Row, SparkSession}

class ImageLIMEExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val rng = new Random(30)
    val input = LIMEFixtures.images(spark,
      Seq(LIMEFixtures.regionImage(rng, 200, "a"), LIMEFixtures.regionImage(rng, 40, "b")), Seq(1.0, 0.0))
    val model = LIMEFixtures.regionExpression
    Seq(StageExample("ImageLIME",
        new ImageLIME().setModel(model).setTargetCol("prediction").setCellSize(8).setNumSamples(20).setSeed(1), input),
      StageExample("ImageLIME-black",
        new ImageLIME().setModel(model).setTargetCol("prediction").setCellSize(10).setNumSamples(20)
          .setHideColor("black").setSamplingFraction(0.5).setTargetClasses(Array(0)), input))
  }
}

class ImageLIMESuite extends SparkSuite {
  import LIMEFixtures.{Region, Side}

  private def inRegion(p: Int): Boolean = p / Side < Region && p % Side < Region

  test("a model that looks only at the top-left square: the superpixels inside it outrank every one outside it") {
    val rng = new Random(31)
    val input = LIMEFixtures.images(spark, Seq(220, 30, 250).map(l => LIMEFixtures.regionImage(rng, l, s"l$l")),
      Seq(1.0, 0.0, 1.0))
    // Black only: painting a constant region with its own mean colour changes nothing the model sees.
    for (hide <- Seq("black")) {
      val rows = new ImageLIME().setModel(LIMEFixtures.regionModel(spark)).setCellSize(8).setNumSamples(300)
        .setHideColor(hide).setSeed(2).transform(input).collect()
      rows.foreach { r =>
        val s = LIMEImages.fromRow(r.getAs[Row]("superpixels"))
        SuperpixelChecks.check(s)
        val w = LIMEFixtures.weights(r)
        val inside = (0 until s.count).filter(l =>
          s.labels.indices.count(p => s.labels(p) == l && inRegion(p)) * 2 > s.labels.count(_ == l))
        val outside = (0 until s.count).filter(l => s.labels.indices.forall(p => s.labels(p) != l || !inRegion(p)))
        assert(inside.nonEmpty && outside.nonEmpty)
        assert(
          inside.map(l => math.abs(w(l))).min > outside.map(l => math.abs(w(l))).max,
          s"$hide, ${r.getAs[Row]("image").getString(0)}: inside ${inside.map(w(_)).mkString(",")} outside ${outside.map(w(_)).mkString(",")}")
      }
    }
  }

  test("encoded bytes in, image structs to the model; an existing superpixel column is used as is") {
    val rng = new Random(32)
    val rec = LIMEFixtures.regionImage(rng, 230, "x")
    val mat =
      new org.bytedeco.opencv.opencv_core.Mat(Side, Side, rec.mode, new org.bytedeco.javacpp.BytePointer(rec.data: _*))
    // The model reads 'image': bytes in that column reach it as image structs.
    val files =
      TestImages.files(spark, Seq("mem:/x.png" -> TestImages.encode(mat, ".png"))).withColumnRenamed("content", "image")
    val lime = new ImageLIME().setModel(LIMEFixtures.regionModel(spark)).setCellSize(8).setNumSamples(50)
    val fromBytes = lime.transform(files).head()
    val structs = LIMEFixtures.images(spark, Seq(rec.copy(origin = null)), Seq(1.0))
    val fromStruct = lime.transform(structs).head()
    assert(fromBytes.getAs[Row]("superpixels") == fromStruct.getAs[Row]("superpixels"))
    assert(LIMEFixtures.weights(fromBytes).toSeq == LIMEFixtures.weights(fromStruct).toSeq)
    val segmented = new SuperpixelTransformer().setCellSize(16).transform(structs)
    val reused = lime.transform(segmented).head()
    assert(LIMEFixtures.weights(reused).length == LIMEImages.fromRow(reused.getAs[Row]("superpixels")).count)
    assert(LIMEImages.fromRow(reused.getAs[Row]("superpixels")).count <= 6)
  }

  test(
    "a file that cannot be decoded, a broken struct or superpixels that do not fit: null and the reason; the rest is explained") {
    val rng = new Random(34)
    val rec = LIMEFixtures.regionImage(rng, 210, "good")
    val mat =
      new org.bytedeco.opencv.opencv_core.Mat(Side, Side, rec.mode, new org.bytedeco.javacpp.BytePointer(rec.data: _*))
    val files = TestImages.files(spark,
      Seq("mem:/good.png" -> TestImages.encode(mat, ".png"),
        "mem:/bad.png" -> "not an image".getBytes("UTF-8"))).withColumnRenamed("content", "image")
    // More samples than the 32x32 image's superpixels (SLIC keeps each 4-connected piece): a fit with at least as
    // many superpixels as samples is refused (the next test).
    val lime = new ImageLIME().setModel(LIMEFixtures.regionModel(spark)).setCellSize(8).setNumSamples(60)
    val byPath = lime.transform(files).collect().map(r => r.getAs[String]("path") -> r).toMap
    assert(byPath.size == 2)
    assert(byPath("mem:/good.png").isNullAt(byPath("mem:/good.png").fieldIndex("error")),
      String.valueOf(byPath("mem:/good.png").getAs[String]("error")))
    assert(LIMEFixtures.weights(byPath("mem:/good.png")).nonEmpty)
    val bad = byPath("mem:/bad.png")
    assert(bad.isNullAt(bad.fieldIndex("explanation")) && bad.isNullAt(bad.fieldIndex("superpixels")))
    assert(bad.getAs[String]("error").startsWith("ImageLIME: column 'image', image with no origin: "),
      bad.getAs[String]("error"))
    assert(bad.getAs[String]("error").contains("decode"), bad.getAs[String]("error"))

    // Structs: one whose data is cut short, one whose superpixels (from another image size) do not fit it.
    val structs =
      LIMEFixtures.images(spark, Seq(rec, rec.copy(origin = "short", data = rec.data.take(10))), Seq(1.0, 0.0))
    val out = lime.transform(structs).collect().map(r => r.getAs[Row]("image").getString(0) -> r).toMap
    assert(out("good").isNullAt(out("good").fieldIndex("error")) &&
      !out("good").isNullAt(out("good").fieldIndex("explanation")))
    assert(out("short").isNullAt(out("short").fieldIndex("explanation")))
    assert(out("short").getAs[String]("error").startsWith("ImageLIME: column 'image', image 'short': "),
      out("short").getAs[String]("error"))
    val small = LIMEImages.segmentationRow(Segmentation(2, 2, 1, Array(0, 0, 0, 0)))
    val mismatched = spark.createDataFrame(java.util.Arrays.asList(Row(structs.head().get(0), small)),
      org.apache.spark.sql.types.StructType(Seq(structs.schema("image"),
          org.apache.spark.sql.types.StructField("superpixels", LIMEImages.SegmentationType))))
    val m = lime.transform(mismatched).head()
    assert(m.isNullAt(m.fieldIndex("explanation")))
    assert(m.getAs[String]("error") ==
      s"ImageLIME: column 'image', image 'good': the image is ${Side}x$Side but its superpixels are 2x2")
    // An error column written by an earlier stage keeps its messages.
    val earlier = files.withColumn("error", org.apache.spark.sql.functions.lit("decoder: earlier"))
    assert(lime.transform(earlier).collect().forall(_.getAs[String]("error") == "decoder: earlier"))
  }

  test("an image with at least as many superpixels as samples is not explained: the error gives both numbers") {
    val rng = new Random(35)
    val input = LIMEFixtures.images(spark, Seq(LIMEFixtures.regionImage(rng, 200, "many")), Seq(1.0))
    val segmented = new SuperpixelTransformer().setCellSize(4).transform(input)
    val count = LIMEImages.fromRow(segmented.head().getAs[Row]("superpixels")).count
    assert(count >= 40, s"$count superpixels")
    val refused = new ImageLIME().setModel(LIMEFixtures.regionModel(spark)).setCellSize(4).setNumSamples(
      count).transform(input).head()
    assert(refused.isNullAt(refused.fieldIndex("explanation")) && refused.isNullAt(refused.fieldIndex("superpixels")))
    assert(
      refused.getAs[String]("error") ==
        s"ImageLIME: column 'image', image 'many': $count superpixels for $count samples: " +
        "the local model would have at least as many weights as samples, fit any scores and explain nothing; raise " +
        "numSamples (10 times the superpixels is a good start) or cellSize (4.0; 0 gives about 40 superpixels per image)",
      refused.getAs[String]("error"))
    // Existing superpixels are held to the same rule; one sample more is explained.
    val fromExisting =
      new ImageLIME().setModel(LIMEFixtures.regionModel(spark)).setNumSamples(count).transform(segmented).head()
    assert(fromExisting.getAs[String]("error").contains(s"$count superpixels for $count samples"))
    val explained =
      new ImageLIME().setModel(LIMEFixtures.regionModel(spark)).setNumSamples(count + 1).transform(segmented).head()
    assert(explained.isNullAt(explained.fieldIndex("error")) && LIMEFixtures.weights(explained).length == count)
  }

  test("100 images x 500 samples in one pass") {
    val rng = new Random(33)
    val input = LIMEFixtures.images(spark,
      (0 until 100).map(i => LIMEFixtures.regionImage(rng, rng.nextInt(256), s"p$i")), Seq.fill(100)(0.0))
    val start = System.nanoTime()
    val out =
      new ImageLIME().setModel(LIMEFixtures.regionModel(spark)).setCellSize(8).setNumSamples(500).transform(input)
        .select("explanation").collect()
    val seconds = (System.nanoTime() - start) / 1e9
    info(f"100 images x 500 samples (32x32): $seconds%.1f s")
    assert(out.length == 100 && out.forall(r => !r.isNullAt(0)))
  }

  test("bad input is named") {
    val e = intercept[IllegalArgumentException](new ImageLIME().setModel(LIMEFixtures.regionModel(spark))
        .transform(spark.range(2).toDF("image")))
    assert(e.getMessage.contains("column 'image' has type bigint; expected an image struct"), e.getMessage)
    val e2 = intercept[IllegalArgumentException](new ImageLIME().transform(TestImages.images(spark, Seq(None))))
    assert(e2.getMessage.contains("set 'model'"))
  }
}
