package irbis.stages

import irbis.core.{IrbisReadable, IrbisStage, Validators}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{IntParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

class PartitionConsolidator(override val uid: String) extends Transformer with IrbisStage {
  def this() = this(Identifiable.randomUID("PartitionConsolidator"))

  override def stageDoc: String =
    "Merges partitions without a shuffle (Dataset.coalesce) down to one partition per executor, or to " +
      "`numPartitions`, so that the next stage runs one task, hence one consumer, per executor: e.g. one HTTP " +
      "client per machine instead of one per core, so a web service sees a few steady clients. Rows keep " +
      "their partition's order; the number of partitions never grows. Executors are counted when the stage " +
      "transforms (local mode counts as one executor)."

  final val numPartitions = new IntParam(this, "numPartitions",
    "The number of partitions to merge into (>= 0); 0 means one per executor.", Validators.gtEq(0))
  setDefault(numPartitions -> 0)
  def getNumPartitions: Int = $(numPartitions)
  def setNumPartitions(value: Int): this.type = set(numPartitions, value)

  override def transformSchema(schema: StructType): StructType = schema

  override def transform(dataset: Dataset[_]): DataFrame = {
    val sc = dataset.sparkSession.sparkContext
    // The block managers are the driver's plus one per executor; in local mode the driver is the executor.
    val target = if (getNumPartitions > 0) getNumPartitions else math.max(1, sc.getExecutorMemoryStatus.size - 1)
    dataset.toDF().coalesce(target)
  }

  override def copy(extra: ParamMap): PartitionConsolidator = defaultCopy(extra)
}

object PartitionConsolidator extends IrbisReadable[PartitionConsolidator]
