package irbis.stages

import irbis.core.{IrbisReadable, IrbisStage, Validators}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{IntParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

class FixedMiniBatchTransformer(override val uid: String) extends Transformer with IrbisStage {
  def this() = this(Identifiable.randomUID("FixedMiniBatchTransformer"))

  override def stageDoc: String =
    "Groups consecutive rows of each partition into batches of `batchSize` rows: every column becomes an " +
      "array holding the batch's values (the last batch of a partition may be smaller). FlattenBatch undoes it."

  final val batchSize = new IntParam(this, "batchSize", "The number of rows per batch (> 0).", Validators.gt(0))
  def getBatchSize: Int = $(batchSize)
  def setBatchSize(value: Int): this.type = set(batchSize, value)

  override def transformSchema(schema: StructType): StructType = MiniBatching.batchedSchema(schema)

  override def transform(dataset: Dataset[_]): DataFrame =
    MiniBatching.batch(dataset.toDF(), MiniBatching.fixed(getBatchSize))

  override def copy(extra: ParamMap): FixedMiniBatchTransformer = defaultCopy(extra)
}

object FixedMiniBatchTransformer extends IrbisReadable[FixedMiniBatchTransformer]
