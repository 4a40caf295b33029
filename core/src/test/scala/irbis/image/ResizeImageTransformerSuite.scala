package irbis.image

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.{Row, SparkSession}

class ResizeImageTransformerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val images = TestImages.images(spark,
      Seq(Some(TestImages.record(12, 16, 3, "a")), None, Some(TestImages.record(9, 7, 1, "g"))))
    Seq(
      StageExample("ResizeImageTransformer", new ResizeImageTransformer().setHeight(5).setWidth(4), images),
      StageExample("ResizeImageTransformer-shortSide",
        new ResizeImageTransformer().setShortSide(6).setInterpolation("cubic").setOutputCol("image"), images))
  }
}

class ResizeImageTransformerSuite extends SparkSuite {
  test("same pixels as ImageTransformer.resize; needs either height and width or shortSide") {
    val images = TestImages.images(spark, Seq(Some(TestImages.record(12, 16, 3, "a"))))
    val plain = new ResizeImageTransformer().setHeight(5).setWidth(7).setInterpolation("area").transform(images)
      .head().getAs[Row]("resized")
    val general = new ImageTransformer().resize(5, 7, "area").transform(images).head().getAs[Row]("transformed")
    assert(plain == general)
    val short = new ResizeImageTransformer().setShortSide(6).transform(images).head().getAs[Row]("resized")
    assert((short.getAs[Int]("height"), short.getAs[Int]("width")) == (6, 8))
    intercept[IllegalArgumentException](new ResizeImageTransformer().transform(images))
    intercept[IllegalArgumentException](
      new ResizeImageTransformer().setShortSide(3).setHeight(2).setWidth(2).transform(images))
  }
}
