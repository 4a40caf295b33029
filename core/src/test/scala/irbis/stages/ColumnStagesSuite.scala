package irbis.stages

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.SparkSession

class SelectColumnsExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    Seq(StageExample("SelectColumns", new SelectColumns().setCols(Array("c", "a.b")),
        Seq((1, "x", 2.0), (2, "y", 3.0)).toDF("a.b", "b", "c")))
  }
}

class SelectColumnsSuite extends SparkSuite {
  import spark.implicits._

  test("keeps the named columns in order, dots taken literally") {
    val df = Seq((1, "x", 2.0)).toDF("a.b", "b", "c")
    val out = new SelectColumns().setCols(Array("c", "a.b")).transform(df)
    assert(out.columns.toSeq == Seq("c", "a.b"))
    assert(out.collect().head.toSeq == Seq(2.0, 1))
  }

  test("a missing column is named in the error") {
    val e = intercept[IllegalArgumentException](new SelectColumns().setCols(Array("nope")).transform(Seq(1).toDF("a")))
    assert(e.getMessage.contains("'nope'") && e.getMessage.contains("Available columns: a"))
  }

  test("an empty column list is rejected when set") {
    intercept[IllegalArgumentException](new SelectColumns().setCols(Array.empty))
  }
}

class DropColumnsExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    Seq(StageExample("DropColumns", new DropColumns().setCols(Array("b")), Seq((1, "x", 2.0)).toDF("a", "b", "c")))
  }
}

class DropColumnsSuite extends SparkSuite {
  import spark.implicits._

  test("drops exactly the named columns") {
    assert(new DropColumns().setCols(Array("b", "a")).transform(Seq((1, "x", 2.0)).toDF("a", "b", "c")).columns.toSeq ==
      Seq("c"))
  }

  test("dropping a missing column is an error, not a silent no-op") {
    val e = intercept[IllegalArgumentException](new DropColumns().setCols(Array("z")).transform(Seq(1).toDF("a")))
    assert(e.getMessage.contains("'z'"))
  }
}

class RenameColumnExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    Seq(StageExample("RenameColumn", new RenameColumn().setInputCol("b").setOutputCol("label"),
        Seq((1, "x"), (2, "y")).toDF("a", "b")))
  }
}

class RenameColumnSuite extends SparkSuite {
  import spark.implicits._

  test("renames in place and refuses to overwrite another column") {
    val df = Seq((1, "x")).toDF("a", "b")
    assert(new RenameColumn().setInputCol("b").setOutputCol("c").transform(df).columns.toSeq == Seq("a", "c"))
    val e = intercept[IllegalArgumentException](new RenameColumn().setInputCol("b").setOutputCol("a").transform(df))
    assert(e.getMessage.contains("'a' already exists"))
  }
}

class RepartitionExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    val df = (1 to 20).toDF("x")
    Seq(StageExample("Repartition", new Repartition().setN(3), df),
      StageExample("Repartition-disabled", new Repartition().setN(3).setDisable(true), df))
  }
}

class RepartitionSuite extends SparkSuite {
  import spark.implicits._

  test("changes the partition count unless disabled") {
    val df = (1 to 20).toDF("x").coalesce(1)
    assert(new Repartition().setN(3).transform(df).rdd.getNumPartitions == 3)
    assert(new Repartition().setN(3).setDisable(true).transform(df).rdd.getNumPartitions == 1)
    intercept[IllegalArgumentException](new Repartition().setN(0))
  }
}

class ExplodeExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    val df = Seq((1, Seq("a", "b")), (2, Seq.empty[String]), (3, null)).toDF("id", "tags")
    Seq(StageExample("Explode", new Explode().setInputCol("tags").setOutputCol("tag"), df),
      StageExample("Explode-keepEmpty", new Explode().setInputCol("tags").setOutputCol("tags").setKeepEmpty(true), df))
  }
}

class ExplodeSuite extends SparkSuite {
  import spark.implicits._

  test("one row per element; empty and null arrays dropped unless keepEmpty") {
    val df = Seq((1, Seq("a", "b")), (2, Seq.empty[String]), (3, null)).toDF("id", "tags")
    val out = new Explode().setInputCol("tags").setOutputCol("tag").transform(df)
    assert(out.select("id", "tag").as[(Int, String)].collect().toSeq == Seq((1, "a"), (1, "b")))
    val kept = new Explode().setInputCol("tags").setOutputCol("tag").setKeepEmpty(true).transform(df)
    assert(kept.select("id").as[Int].collect().sorted.toSeq == Seq(1, 1, 2, 3))
  }

  test("a non-array input column is named in the error") {
    val e = intercept[IllegalArgumentException](
      new Explode().setInputCol("id").setOutputCol("o").transform(Seq(1).toDF("id")))
    assert(e.getMessage.contains("'id' has type int; expected an array"))
  }
}
