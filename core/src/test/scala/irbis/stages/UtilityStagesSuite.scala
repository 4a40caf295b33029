package irbis.stages

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.SparkSession
import org.apache.spark.storage.StorageLevel

class CacherExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = Seq(
    StageExample("Cacher", new Cacher().setStorageLevel("MEMORY_ONLY"), spark.range(3).toDF("i")),
    StageExample("Cacher-disabled", new Cacher().setDisable(true), spark.range(3).toDF("i")))
}

class CacherSuite extends SparkSuite {
  test("persists with the storage level, or not at all when disabled") {
    // Two different plans: Spark's cache matches by plan, so one persisted frame would mark the other.
    assert(new Cacher().setStorageLevel("DISK_ONLY").transform(spark.range(5).toDF("i")).storageLevel ==
      StorageLevel.DISK_ONLY)
    assert(new Cacher().setDisable(true).transform(spark.range(7).toDF("j")).storageLevel == StorageLevel.NONE)
  }
}

class PartitionConsolidatorExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = Seq(
    StageExample("PartitionConsolidator", new PartitionConsolidator(), spark.range(0, 6, 1, 3).toDF("i")))
}

class PartitionConsolidatorSuite extends SparkSuite {
  test("one partition per executor (local mode: one), or numPartitions; never more than the input had") {
    val df = spark.range(0, 100, 1, 4).toDF("i")
    assert(new PartitionConsolidator().transform(df).rdd.getNumPartitions == 1)
    assert(new PartitionConsolidator().setNumPartitions(2).transform(df).rdd.getNumPartitions == 2)
    assert(new PartitionConsolidator().setNumPartitions(8).transform(df).rdd.getNumPartitions == 4)
    assert(new PartitionConsolidator().transform(df).count() == 100)
  }
}
