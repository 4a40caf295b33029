package irbis.image

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.sql.{Row, SparkSession}

class UnrollImageExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val images =
      TestImages.images(spark, Seq(Some(TestImages.record(3, 4, 3, "a")), None, Some(TestImages.record(2, 5, 1, "g"))))
    Seq(StageExample("UnrollImage", new UnrollImage(), images))
  }
}

class UnrollImageSuite extends SparkSuite {
  test("channel-major order: index (c * height + y) * width + x") {
    val rec = TestImages.record(3, 4, 3, "a")
    val v = new UnrollImage().transform(TestImages.images(spark, Seq(Some(rec)))).head().getAs[Vector]("unrolled")
    assert(v.size == 36)
    for (c <- 0 until 3; y <- 0 until 3; x <- 0 until 4)
      assert(v((c * 3 + y) * 4 + x) == (rec.data((y * 4 + x) * 3 + c) & 0xff))
  }
}

class UnrollBinaryImageExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = Seq(
    StageExample("UnrollBinaryImage", new UnrollBinaryImage(), TestImages.mixedFiles(spark)),
    StageExample("UnrollBinaryImage-resized",
      new UnrollBinaryImage().setHeight(4).setWidth(3).setInterpolation("area").setColorMode("grayscale"),
      TestImages.mixedFiles(spark)))
}

class UnrollBinaryImageSuite extends SparkSuite {
  test("equals ImageDecoder, resize and UnrollImage in one pass; bad files give null and a message") {
    val files = TestImages.mixedFiles(spark)
    val oneStep = new UnrollBinaryImage().setHeight(4).setWidth(6).transform(files)
      .collect().map(r => r.getAs[String]("path") -> (r.getAs[Vector]("unrolled"), r.getAs[String]("error"))).toMap
    val decoded = new ResizeImageTransformer().setHeight(4).setWidth(6).setOutputCol("small")
      .transform(new ImageDecoder().transform(files))
    val threeSteps = new UnrollImage().setInputCol("small").transform(decoded)
      .collect().map(r => r.getAs[String]("path") -> r.getAs[Vector]("unrolled")).toMap
    assert(oneStep.view.mapValues(_._1).toMap == threeSteps)
    assert(oneStep("mem:/cut.png")._2.contains("'mem:/cut.png'"))
    intercept[IllegalArgumentException](new UnrollBinaryImage().setHeight(3).transform(files))
    val grey = new UnrollBinaryImage().setColorMode("grayscale").transform(files).where("path = 'mem:/grey.png'").head()
    assert(grey.getAs[Vector]("unrolled").toArray.toSeq == TestImages.pattern(9, 7, 1).toSeq.map(b =>
      (b & 0xff).toDouble))
    assert(Row.empty != null)
  }
}
