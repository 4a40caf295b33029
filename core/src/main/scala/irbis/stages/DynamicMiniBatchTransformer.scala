package irbis.stages

import irbis.core.{IrbisReadable, IrbisStage}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{IntParam, ParamMap, ParamValidators}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

class DynamicMiniBatchTransformer(override val uid: String) extends Transformer with IrbisStage {
  def this() = this(Identifiable.randomUID("DynamicMiniBatchTransformer"))

  override def stageDoc: String =
    "Groups the rows of each partition into batches of whatever rows are ready: a background thread reads " +
      "the partition ahead, and each batch takes the rows read so far (waiting only for its first row), up to " +
      "`maxBatchSize`. A slow consumer (e.g. a web service) thus gets larger batches, a fast one smaller ones. " +
      "Every column becomes an array of the batch's values, as with FixedMiniBatchTransformer; batch sizes " +
      "depend on timing, row order within a partition does not. FlattenBatch undoes it."

  final val maxBatchSize = new IntParam(this, "maxBatchSize",
    "The largest number of rows per batch (> 0); at most min(maxBatchSize, 10000) rows are read ahead.",
    ParamValidators.gt(0))
  setDefault(maxBatchSize -> Int.MaxValue)
  def getMaxBatchSize: Int = $(maxBatchSize)
  def setMaxBatchSize(value: Int): this.type = set(maxBatchSize, value)

  override def transformSchema(schema: StructType): StructType = MiniBatching.batchedSchema(schema)

  override def transform(dataset: Dataset[_]): DataFrame =
    MiniBatching.batch(dataset.toDF(), MiniBatching.dynamic(getMaxBatchSize))

  override def copy(extra: ParamMap): DynamicMiniBatchTransformer = defaultCopy(extra)
}

object DynamicMiniBatchTransformer extends IrbisReadable[DynamicMiniBatchTransformer]
