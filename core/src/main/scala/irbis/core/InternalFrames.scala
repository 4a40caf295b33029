package irbis.core

import org.apache.spark.TaskContext
import org.apache.spark.rdd.RDD
import org.apache.spark.sql.{DataFrame, Encoders, Row, SparkSession}
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder
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

  /**
   * `f` applied to each partition's Catalyst rows of `df`, giving rows of `schema`. A batch plan goes through
   * its RDD of InternalRows; a streaming plan has none until it runs, so there the same function becomes a
   * typed `mapPartitions` (allowed in streaming queries) with rows converted at its edges.
   */
  def mapPartitions(df: DataFrame, schema: StructType)(f: Iterator[InternalRow] => Iterator[InternalRow]): DataFrame =
    if (!df.isStreaming) create(df.sparkSession, df.queryExecution.toRdd.mapPartitions(f), schema)
    else {
      val (in, out) = (ExpressionEncoder(df.schema), ExpressionEncoder(schema).resolveAndBind())
      df.mapPartitions { rows: Iterator[Row] =>
        val (toInternal, toRow) = (in.createSerializer(), out.createDeserializer())
        f(rows.map(toInternal)).map(toRow)
      }(Encoders.row(schema))
    }

  /**
   * Whether this task is one of Spark's continuous-processing tasks (a low-latency serving query): its rows come
   * one by one as they arrive and the next may be long in coming, so a stage must not wait to fill a batch.
   * (Spark marks these tasks with this local property.)
   */
  def inContinuousTask: Boolean =
    Option(TaskContext.get()).exists(_.getLocalProperty("__continuous_start_epoch") != null)
}
