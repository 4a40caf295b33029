package irbis.image

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.ml.linalg.Vectors
import org.apache.spark.ml.param.{IntParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.functions.udf
import org.apache.spark.sql.types.{BinaryType, StructType}

class UnrollBinaryImage(override val uid: String) extends Transformer with IrbisStage
  with HasInputCol with HasOutputCol with HasErrorCol with DecodeParams {
  def this() = this(Identifiable.randomUID("UnrollBinaryImage"))

  override def stageDoc: String =
    "Decodes image files (a binary column) as ImageDecoder does, optionally resizes them to height x width " +
      "(cv2.resize), and outputs their pixels as a dense vector, in one pass without an image column in " +
      "between. " + Unrolling.OrderDoc + " An undecodable file gives a null vector and a message in errorCol."

  final val height = new IntParam(this, "height", "Resize to this height first (with width); 0 keeps the size.",
    Validators.gtEq(0))
  final val width = new IntParam(this, "width", "Resize to this width first (with height); 0 keeps the size.",
    Validators.gtEq(0))
  final val interpolation = new EnumParam(this, "interpolation",
    "OpenCV's interpolation for the resize (cv2.INTER_*); linear is OpenCV's default.", ImageOp.Interpolations)

  setDefault(inputCol -> "content", outputCol -> "unrolled", height -> 0, width -> 0, interpolation -> "linear")
  def getHeight: Int = $(height)
  def setHeight(value: Int): this.type = set(height, value)
  def getWidth: Int = $(width)
  def setWidth(value: Int): this.type = set(width, value)
  def getInterpolation: String = $(interpolation)
  def setInterpolation(value: String): this.type = set(interpolation, value)

  override def transformSchema(schema: StructType): StructType = {
    require((getHeight == 0) == (getWidth == 0), s"$uid: set both height and width (to resize) or neither")
    Columns.requireType(schema, uid, getInputCol, "binary (encoded image files)")(_ == BinaryType)
    ImageRows.checkOutputs(schema, uid, getInputCol, getOutputCol, getErrorCol)
    originColumn(schema, uid)
    ImageRows.outputSchema(schema, getOutputCol, VectorType, getErrorCol)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val pipeline = new ImagePipeline(if (getHeight > 0) Seq(Resize(getHeight, getWidth, getInterpolation)) else Nil)
    val (stage, column, settings) = (getClass.getSimpleName, getInputCol, decodeSettings)
    val fn = udf { (bytes: Array[Byte], origin: String) =>
      val (v, e) = ImageRows.guarded[org.apache.spark.ml.linalg.Vector](stage, column, origin) {
        Option(Decoding.decode(bytes, settings))
          .map(m => Vectors.dense(SparkImage.doublesChannelMajor(pipeline.run(m)._1))).orNull
      }
      VectorResult(v, e)
    }.asNondeterministic()
    ImageRows.attach(dataset.toDF(), fn(ColumnRef(getInputCol), originColumn(dataset.schema, uid)), "vector",
      getOutputCol, getErrorCol)
  }

  override def copy(extra: ParamMap): UnrollBinaryImage = defaultCopy(extra)
}

object UnrollBinaryImage extends IrbisReadable[UnrollBinaryImage]
