package irbis.lime

import scala.util.Random

import irbis.image.TestImages
import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.sql.{Row, SparkSession}

class ImageSHAPExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val rng = new Random(40)
    val input = LIMEFixtures.images(spark,
      Seq(LIMEFixtures.regionImage(rng, 200, "a"), LIMEFixtures.regionImage(rng, 40, "b")), Seq(1.0, 0.0))
    Seq(StageExample("ImageSHAP",
        new ImageSHAP().setModel(LIMEFixtures.regionExpression).setTargetCol("prediction").setCellSize(16)
          .setNumSamples(6).setSeed(1), input),
      StageExample("ImageSHAP-black",
        new ImageSHAP().setModel(LIMEFixtures.regionExpression).setTargetCol("prediction").setCellSize(16)
          .setNumSamples(6).setHideColor("black").setTargetClasses(Array(0)), input))
  }
}

class ImageSHAPSuite extends SparkSuite {
  import LIMEFixtures.Side

  private def values(r: Row): Array[Double] = r.getSeq[Vector](r.fieldIndex("shapValues")).head.toArray

  test("black superpixels under a sum of two bytes: each byte's value goes to its superpixel, base 0, R^2 1") {
    val rng = new Random(41)
    val input = LIMEFixtures.images(spark, Seq(190, 60).map(l => LIMEFixtures.regionImage(rng, l, s"l$l")),
      Seq(1.0, 0.0))
    // regionExpression reads the first channel of pixels 0 and 33 (bytes 1 and 100, 1-based)
    val rows = new ImageSHAP().setModel(LIMEFixtures.regionExpression).setTargetCol("prediction").setCellSize(16)
      .setHideColor("black").setNumSamples(1 << 12).transform(input).collect()
    rows.foreach { r =>
      val s = LIMEImages.fromRow(r.getAs[Row]("superpixels"))
      SuperpixelChecks.check(s)
      val data = r.getAs[Row]("image").getAs[Array[Byte]]("data")
      val expected = new Array[Double](s.count)
      expected(s.labels(0)) += data(0) & 0xff
      expected(s.labels(Side + 1)) += data(99) & 0xff
      val v = values(r)
      assert(v.length == s.count + 1 && s.count >= 2 && s.count <= 12, s"${s.count} superpixels")
      assert(math.abs(v(0)) < 1e-9)
      v.tail.zip(expected).foreach { case (a, b) => assert(math.abs(a - b) < 1e-9, v.mkString(", ")) }
      assert(math.abs(r.getAs[Vector]("r2")(0) - 1) < 1e-9)
    }
  }

  test("an undecodable file gives null outputs and the reason naming the column; bad input is named") {
    val rng = new Random(42)
    val rec = LIMEFixtures.regionImage(rng, 210, "good")
    val mat =
      new org.bytedeco.opencv.opencv_core.Mat(Side, Side, rec.mode, new org.bytedeco.javacpp.BytePointer(rec.data: _*))
    val files = TestImages.files(spark,
      Seq("mem:/good.png" -> TestImages.encode(mat, ".png"), "mem:/bad.png" -> "not an image".getBytes("UTF-8")))
      .withColumnRenamed("content", "image")
    val shap = new ImageSHAP().setModel(LIMEFixtures.regionExpression).setTargetCol("prediction").setCellSize(16)
      .setNumSamples(20)
    val byPath = shap.transform(files).collect().map(r => r.getAs[String]("path") -> r).toMap
    val good = byPath("mem:/good.png")
    assert(good.isNullAt(good.fieldIndex("error")), String.valueOf(good.getAs[String]("error")))
    assert(values(good).length == LIMEImages.fromRow(good.getAs[Row]("superpixels")).count + 1)
    val bad = byPath("mem:/bad.png")
    Seq("shapValues", "r2", "superpixels").foreach(c => assert(bad.isNullAt(bad.fieldIndex(c)), c))
    assert(bad.getAs[String]("error").startsWith("ImageSHAP: column 'image', image with no origin: "),
      bad.getAs[String]("error"))
    // fewer coalitions than superpixels: that image is refused in its row, with the numbers
    val few = shap.setNumSamples(1).transform(files).collect().map(r => r.getAs[String]("path") -> r).toMap
    val refused = few("mem:/good.png")
    assert(refused.isNullAt(refused.fieldIndex("shapValues")))
    assert(refused.getAs[String]("error").contains("superpixels for 1 samples"), refused.getAs[String]("error"))
    shap.setNumSamples(20)
    val e1 = intercept[IllegalArgumentException](shap.transform(files.withColumnRenamed("image", "content")))
    assert(e1.getMessage.contains("column 'image' does not exist"), e1.getMessage)
    val e2 = intercept[IllegalArgumentException](shap.transform(files.select(files("path").as("image"))))
    assert(e2.getMessage.contains("column 'image' has type string"), e2.getMessage)
    val e3 = intercept[IllegalArgumentException](new ImageSHAP().transform(files))
    assert(e3.getMessage.contains("set 'model'"), e3.getMessage)
  }
}
