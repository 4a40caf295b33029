package irbis.stages

import irbis.core.{IrbisReadable, IrbisStage, Validators}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{IntParam, LongParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

class TimeIntervalMiniBatchTransformer(override val uid: String) extends Transformer with IrbisStage
  with ReadAheadBatching {
  def this() = this(Identifiable.randomUID("TimeIntervalMiniBatchTransformer"))

  override def stageDoc: String =
    "Groups the rows of each partition into batches by time: a batch starts with the next row available and " +
      "takes the rows that arrive within `millisToWait` of it, up to `maxBatchSize` (a background thread reads " +
      "the partition ahead). Useful when rows trickle in, e.g. from a stream or a slow source. Every column " +
      "becomes an array of the batch's values, as with FixedMiniBatchTransformer; FlattenBatch undoes it."

  final val millisToWait = new LongParam(this, "millisToWait",
    "How long a batch collects rows after its first one, in milliseconds (>= 0).", Validators.gtEq(0))
  def getMillisToWait: Long = $(millisToWait)
  def setMillisToWait(value: Long): this.type = set(millisToWait, value)

  override def transform(dataset: Dataset[_]): DataFrame =
    MiniBatching.batch(dataset.toDF(), MiniBatching.timeInterval(getMillisToWait, getMaxBatchSize))

  override def copy(extra: ParamMap): TimeIntervalMiniBatchTransformer = defaultCopy(extra)
}

object TimeIntervalMiniBatchTransformer extends IrbisReadable[TimeIntervalMiniBatchTransformer]
