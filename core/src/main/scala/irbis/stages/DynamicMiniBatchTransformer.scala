package irbis.stages

import irbis.core.{IrbisReadable, IrbisStage}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{IntParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

class DynamicMiniBatchTransformer(override val uid: String) extends Transformer with IrbisStage
  with ReadAheadBatching {
  def this() = this(Identifiable.randomUID("DynamicMiniBatchTransformer"))

  override def stageDoc: String =
    "Groups the rows of each partition into batches of whatever rows are ready: a background thread reads " +
      "the partition ahead, and each batch takes the rows read so far (waiting only for its first row), up to " +
      "`maxBatchSize`. A slow consumer (e.g. a web service) thus gets larger batches, a fast one smaller ones. " +
      "Every column becomes an array of the batch's values, as with FixedMiniBatchTransformer; batch sizes " +
      "depend on timing, row order within a partition does not. FlattenBatch undoes it."

  override def transform(dataset: Dataset[_]): DataFrame =
    MiniBatching.batch(dataset.toDF(), MiniBatching.dynamic(getMaxBatchSize))

  override def copy(extra: ParamMap): DynamicMiniBatchTransformer = defaultCopy(extra)
}

object DynamicMiniBatchTransformer extends IrbisReadable[DynamicMiniBatchTransformer]
