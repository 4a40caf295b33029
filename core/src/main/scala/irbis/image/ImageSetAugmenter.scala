package irbis.image

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{BooleanParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.functions.{col, explode}
import org.apache.spark.sql.types.StructType

class ImageSetAugmenter(override val uid: String) extends Transformer with IrbisStage
  with HasInputCol with HasOutputCol with HasErrorCol {
  def this() = this(Identifiable.randomUID("ImageSetAugmenter"))

  override def stageDoc: String =
    "Training-set augmentation: every row is kept with its image, and followed by one copy per enabled flip " +
      "(left-right, then up-down) whose image is flipped with cv2.flip; other columns repeat. With outputCol " +
      "equal to inputCol the images are replaced in place. A null image stays null in every copy; a malformed " +
      "one gives null copies and a message in errorCol."

  final val flipLeftRight =
    new BooleanParam(this, "flipLeftRight", "Add a copy mirrored left to right (cv2.flip code 1).")
  final val flipUpDown = new BooleanParam(this, "flipUpDown", "Add a copy mirrored top to bottom (cv2.flip code 0).")

  setDefault(inputCol -> "image", outputCol -> "image", flipLeftRight -> true, flipUpDown -> false)
  def getFlipLeftRight: Boolean = $(flipLeftRight)
  def setFlipLeftRight(value: Boolean): this.type = set(flipLeftRight, value)
  def getFlipUpDown: Boolean = $(flipUpDown)
  def setFlipUpDown(value: Boolean): this.type = set(flipUpDown, value)

  override def transformSchema(schema: StructType): StructType = {
    SparkImage.requireImageColumn(schema, uid, getInputCol)
    ImageRows.checkOutputs(schema, uid, getInputCol, getOutputCol, getErrorCol)
    ImageRows.outputSchema(schema, getOutputCol, SparkImage.schema, getErrorCol)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val flips = Seq(getFlipLeftRight -> "horizontal", getFlipUpDown -> "vertical")
      .collect { case (true, mode) => new ImagePipeline(Seq(Flip(mode))) }
    val (stage, column) = (getClass.getSimpleName, getInputCol)
    val copies = ImageRows.imagesUdf { (row: Row) =>
      val origin = if (row == null) null else SparkImage.origin(row)
      val original = (if (row == null) null else SparkImage.record(row), null: String)
      original +: flips.map { p =>
        ImageRows.guarded[ImageRecord](stage, column, origin) {
          if (row == null) null else SparkImage.toRecord(p.run(SparkImage.toMat(row))._1, origin)
        }
      }
    }
    val exploded = dataset.toDF().withColumn("__irbis_copies", explode(copies(ColumnRef(getInputCol))))
    ImageRows.attach(exploded, col("__irbis_copies"), "image", getOutputCol, getErrorCol)
      .drop("__irbis_copies")
  }

  override def copy(extra: ParamMap): ImageSetAugmenter = defaultCopy(extra)
}

object ImageSetAugmenter extends IrbisReadable[ImageSetAugmenter]
