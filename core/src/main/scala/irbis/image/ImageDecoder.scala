package irbis.image

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{BooleanParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.{BinaryType, StructType}

class ImageDecoder(override val uid: String) extends Transformer with IrbisStage
  with HasInputCol with HasOutputCol with HasErrorCol with DecodeParams {
  def this() = this(Identifiable.randomUID("ImageDecoder"))

  override def stageDoc: String =
    "Decodes image files (a binary column, such as the 'content' of spark.read.format(\"binaryFile\")) with " +
      "OpenCV into Spark's image schema (origin, height, width, nChannels, mode, data; 8-bit BGR), the struct " +
      "that spark.read.format(\"image\") produces. It never fails the job: an undecodable, truncated or too " +
      "large file gives a null image and a message naming the file in errorCol. Greyscale, CMYK, 16-bit and " +
      "alpha images are converted as colorMode says, and EXIF orientation is applied so pixels are upright."

  final val dropInvalid = new BooleanParam(this, "dropInvalid",
    "Drop the rows whose image is null (undecodable, or null bytes) instead of keeping them with an error.")

  setDefault(inputCol -> "content", outputCol -> "image", dropInvalid -> false)
  def getDropInvalid: Boolean = $(dropInvalid)
  def setDropInvalid(value: Boolean): this.type = set(dropInvalid, value)

  override def transformSchema(schema: StructType): StructType = {
    Columns.requireType(schema, uid, getInputCol, "binary (encoded image files)")(_ == BinaryType)
    ImageRows.checkOutputs(schema, uid, getInputCol, getOutputCol, getErrorCol)
    originColumn(schema, uid)
    ImageRows.outputSchema(schema, getOutputCol, SparkImage.schema, getErrorCol)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val (stage, column, settings) = (getClass.getSimpleName, getInputCol, decodeSettings)
    val decode = ImageRows.imageUdf2 { (bytes: Array[Byte], origin: String) =>
      ImageRows.guarded[ImageRecord](stage, column, origin) {
        val m = Decoding.decode(bytes, settings)
        if (m == null) null else SparkImage.toRecord(m, origin)
      }
    }
    val out = ImageRows.attach(dataset.toDF(), decode(ColumnRef(getInputCol), originColumn(dataset.schema, uid)),
      "image", getOutputCol, getErrorCol)
    if (getDropInvalid) out.where(ColumnRef(getOutputCol).isNotNull) else out
  }

  override def copy(extra: ParamMap): ImageDecoder = defaultCopy(extra)
}

object ImageDecoder extends IrbisReadable[ImageDecoder]
