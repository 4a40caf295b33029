package irbis.image

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{IntParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.types.StructType

class ResizeImageTransformer(override val uid: String) extends Transformer with IrbisStage
  with HasInputCol with HasOutputCol with HasErrorCol {
  def this() = this(Identifiable.randomUID("ResizeImageTransformer"))

  override def stageDoc: String =
    "Resizes every image (Spark's image schema) to height x width with cv2.resize, or its short side to " +
      "shortSide keeping the aspect ratio. It is ImageTransformer with a single resize operation, set through " +
      "plain Params: the same code runs (one cv2.resize per image), so the pixels are identical and it is no " +
      "faster. A malformed image gives a null result and a message in errorCol."

  final val height = new IntParam(this, "height", "Output height in pixels (with width; 0 when shortSide is used).",
    Validators.gtEq(0))
  final val width = new IntParam(this, "width", "Output width in pixels (with height; 0 when shortSide is used).",
    Validators.gtEq(0))
  final val shortSide = new IntParam(this, "shortSide",
    "If > 0, the short side becomes this many pixels and the long side floor(shortSide * long / short); height " +
      "and width must then be 0.", Validators.gtEq(0))
  final val interpolation = new EnumParam(this, "interpolation",
    "OpenCV's interpolation (cv2.INTER_*). linear is OpenCV's default; it does not anti-alias when shrinking, " +
      "area does. " + ImageOp.CubicNote, ImageOp.Interpolations)

  setDefault(inputCol -> "image", outputCol -> "resized", height -> 0, width -> 0, shortSide -> 0,
    interpolation -> "linear")
  def getHeight: Int = $(height)
  def setHeight(value: Int): this.type = set(height, value)
  def getWidth: Int = $(width)
  def setWidth(value: Int): this.type = set(width, value)
  def getShortSide: Int = $(shortSide)
  def setShortSide(value: Int): this.type = set(shortSide, value)
  def getInterpolation: String = $(interpolation)
  def setInterpolation(value: String): this.type = set(interpolation, value)

  def operation: ImageOp =
    if (getShortSide > 0) {
      require(getHeight == 0 && getWidth == 0, s"$uid: set either shortSide or height and width, not both")
      ResizeShortSide(getShortSide, getInterpolation)
    } else {
      require(getHeight > 0 && getWidth > 0, s"$uid: set height and width (both > 0), or shortSide")
      Resize(getHeight, getWidth, getInterpolation)
    }

  override def transformSchema(schema: StructType): StructType = {
    operation
    SparkImage.requireImageColumn(schema, uid, getInputCol)
    ImageRows.checkOutputs(schema, uid, getInputCol, getOutputCol, getErrorCol)
    ImageRows.outputSchema(schema, getOutputCol, SparkImage.schema, getErrorCol)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val pipeline = new ImagePipeline(Seq(operation))
    val (stage, column) = (getClass.getSimpleName, getInputCol)
    val fn = ImageRows.imageUdf { (row: Row) =>
      val origin = if (row == null) null else SparkImage.origin(row)
      ImageRows.guarded[ImageRecord](stage, column, origin) {
        if (row == null) null else SparkImage.toRecord(pipeline.run(SparkImage.toMat(row))._1, origin)
      }
    }
    ImageRows.attach(dataset.toDF(), fn(ColumnRef(getInputCol)), "image", getOutputCol, getErrorCol)
  }

  override def copy(extra: ParamMap): ResizeImageTransformer = defaultCopy(extra)
}

object ResizeImageTransformer extends IrbisReadable[ResizeImageTransformer]
