package irbis.image

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.{Row, SparkSession}

class ImageSetAugmenterExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val images =
      TestImages.images(spark, Seq(Some(TestImages.record(3, 4, 3, "a")), None, Some(TestImages.record(2, 5, 1, "g"))))
    Seq(
      StageExample("ImageSetAugmenter", new ImageSetAugmenter(), images),
      StageExample("ImageSetAugmenter-both", new ImageSetAugmenter().setFlipUpDown(true).setOutputCol("augmented"),
        images))
  }
}

class ImageSetAugmenterSuite extends SparkSuite {
  test("each row is followed by its left-right and up-down mirror images") {
    val rec = TestImages.record(3, 4, 1, "a")
    val out =
      new ImageSetAugmenter().setFlipUpDown(true).transform(TestImages.images(spark, Seq(Some(rec), None))).collect()
    assert(out.length == 6)
    val copies = out.filter(_.getAs[String]("id") == "row0").map(_.getAs[Row]("image").getAs[Array[Byte]]("data").toSeq)
    val rows = rec.data.grouped(4).map(_.toSeq).toSeq
    assert(copies.toSet == Set(rows.flatten, rows.flatMap(_.reverse), rows.reverse.flatten))
    assert(out.filter(_.getAs[String]("id") == "row1").forall(_.isNullAt(1)))
    assert(new ImageSetAugmenter().setFlipLeftRight(false).transform(TestImages.images(spark,
        Seq(Some(rec)))).count() == 1)
  }
}
