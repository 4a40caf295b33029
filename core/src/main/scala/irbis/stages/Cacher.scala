package irbis.stages

import irbis.core.{EnumParam, IrbisReadable, IrbisStage}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{BooleanParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType
import org.apache.spark.storage.StorageLevel

class Cacher(override val uid: String) extends Transformer with IrbisStage {
  def this() = this(Identifiable.randomUID("Cacher"))

  override def stageDoc: String =
    "Persists its input with `storageLevel` (lazily, as Dataset.persist: the data is stored when first " +
      "computed), so that later stages and actions reuse it instead of recomputing it. `disable` passes the " +
      "data through untouched."

  final val storageLevel = new EnumParam(this, "storageLevel",
    "Where and how the rows are kept (Spark's StorageLevel).",
    Seq("MEMORY_AND_DISK", "MEMORY_AND_DISK_SER", "MEMORY_ONLY", "MEMORY_ONLY_SER", "DISK_ONLY",
      "MEMORY_AND_DISK_2", "MEMORY_ONLY_2", "DISK_ONLY_2", "OFF_HEAP"))
  setDefault(storageLevel -> "MEMORY_AND_DISK")
  def getStorageLevel: String = $(storageLevel)
  def setStorageLevel(value: String): this.type = set(storageLevel, value)

  final val disable = new BooleanParam(this, "disable", "Pass the data through without persisting it.")
  setDefault(disable -> false)
  def getDisable: Boolean = $(disable)
  def setDisable(value: Boolean): this.type = set(disable, value)

  override def transformSchema(schema: StructType): StructType = schema

  override def transform(dataset: Dataset[_]): DataFrame =
    if (getDisable) dataset.toDF() else dataset.toDF().persist(StorageLevel.fromString(getStorageLevel))

  override def copy(extra: ParamMap): Cacher = defaultCopy(extra)
}

object Cacher extends IrbisReadable[Cacher]
