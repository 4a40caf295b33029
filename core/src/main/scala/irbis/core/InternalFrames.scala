package irbis.core

import org.apache.spark.rdd.RDD
import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.types.StructType

/**
 * Builds a DataFrame straight from Catalyst rows. Stages that move large arrays (tensors, images) write
 * `InternalRow`s so that no Row encoder boxes every element; Spark's own factory for that is internal to
 * Spark, so it is reached by name in this one place.
 */
object InternalFrames {
  private lazy val factory = Class.forName("org.apache.spark.sql.classic.SparkSession")
    .getMethod("internalCreateDataFrame", classOf[RDD[_]], classOf[StructType], java.lang.Boolean.TYPE)

  def create(spark: SparkSession, rows: RDD[InternalRow], schema: StructType): DataFrame =
    factory.invoke(spark, rows, schema, java.lang.Boolean.FALSE).asInstanceOf[DataFrame]
}
