package irbis.lime

import irbis.core._
import irbis.image.{DecodeSettings, Decoding, ImageException, SparkImage}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{DoubleParam, ParamMap, ParamValidators, Params}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.api.java.UDF1
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema
import org.apache.spark.sql.functions.udf
import org.apache.spark.sql.types._

/** Superpixel Params shared by SuperpixelTransformer and ImageLIME. */
trait SuperpixelParams extends Params {
  final val cellSize = new DoubleParam(this, "cellSize",
    "Side in pixels of the grid cells that seed the superpixels: an H x W image gets about " +
      "round(H / cellSize) * round(W / cellSize) segments.", ParamValidators.gt(0))
  final val modifier = new DoubleParam(this, "modifier",
    "SLIC's compactness m: larger values make squarer segments, smaller ones follow colour edges more closely " +
      "(colour distance in CIELAB units, position distance in grid steps times m).", ParamValidators.gt(0))
  setDefault(cellSize -> 16.0, modifier -> 10.0)
  def getCellSize: Double = $(cellSize)
  def setCellSize(value: Double): this.type = set(cellSize, value)
  def getModifier: Double = $(modifier)
  def setModifier(value: Double): this.type = set(modifier, value)
}

/** Reading images for the LIME stages: image structs as they are, encoded files decoded as OpenCV's IMREAD_COLOR. */
private[lime] object LIMEImages {
  val SegmentationType: StructType = StructType(Seq(
    StructField("height", IntegerType, nullable = false), StructField("width", IntegerType, nullable = false),
    StructField("count", IntegerType, nullable = false),
    StructField("labels", ArrayType(IntegerType, containsNull = false), nullable = true)))

  /** The value as an image struct Row (null stays null); undecodable bytes are an error naming stage and column. */
  def imageRow(value: Any, stage: String, column: String): Row = value match {
    case null => null
    case r: Row => r
    case bytes: Array[Byte] =>
      val m = try Decoding.decode(bytes, DecodeSettings("color", 100000000L))
      catch { case e: ImageException => throw new IllegalArgumentException(s"$stage: column '$column': ${e.getMessage}", e) }
      val rec = SparkImage.toRecord(m, null)
      new GenericRowWithSchema(Array[Any](rec.origin, rec.height, rec.width, rec.nChannels, rec.mode, rec.data), SparkImage.schema)
    case other => throw new IllegalArgumentException(s"$stage: column '$column' holds ${other.getClass.getName}, not an image")
  }

  def segment(image: Row, cellSize: Double, modifier: Double, stage: String, column: String): Segmentation =
    try Slic.segment(image, cellSize, modifier)
    catch { case e: ImageException => throw new IllegalArgumentException(
      s"$stage: column '$column', image '${SparkImage.origin(image)}': ${e.getMessage}", e) }

  def segmentationRow(s: Segmentation): Row = Row(s.height, s.width, s.count, s.labels.toSeq)

  def fromRow(r: Row): Segmentation =
    Segmentation(r.getInt(0), r.getInt(1), r.getInt(2), r.getSeq[Int](3).toArray)
}

class SuperpixelTransformer(override val uid: String) extends Transformer with IrbisStage
  with HasInputCol with HasOutputCol with SuperpixelParams {
  def this() = this(Identifiable.randomUID("SuperpixelTransformer"))

  setDefault(inputCol -> "image", outputCol -> "superpixels")

  override def stageDoc: String =
    "Splits each image into superpixels with SLIC: CIELAB colour, cluster centres seeded on a grid of cellSize " +
      "pixels (moved to the lowest gradient of their 3x3 neighbourhood), ten rounds of local k-means within one " +
      "grid step, distance^2 = colour^2 + (position / grid step)^2 * modifier^2, then connectivity enforced (every " +
      "segment 4-connected; pieces under a quarter cell join a neighbour). Deterministic. The output struct holds " +
      "height, width, count and labels (row-major, one segment index in 0 until count per pixel), which ImageLIME " +
      "reads as its superpixelCol and the Python helper irbis.lime.overlay draws. Input: an image struct or " +
      "encoded image bytes (decoded as colour)."

  override def transformSchema(schema: StructType): StructType = {
    SparkImage.requireImageOrBytes(schema, uid, getInputCol)
    Columns.requireAbsent(schema, uid, getOutputCol)
    schema.add(getOutputCol, LIMEImages.SegmentationType, nullable = true)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    val (cell, m, stage, column) = (getCellSize, getModifier, uid, getInputCol)
    val f = udf(new UDF1[Object, Row] {
      def call(v: Object): Row = {
        val image = LIMEImages.imageRow(v, stage, column)
        if (image == null) null else LIMEImages.segmentationRow(LIMEImages.segment(image, cell, m, stage, column))
      }
    }, LIMEImages.SegmentationType)
    dataset.toDF().withColumn(getOutputCol, f(ColumnRef(getInputCol)))
  }

  override def copy(extra: ParamMap): SuperpixelTransformer = defaultCopy(extra)
}

object SuperpixelTransformer extends IrbisReadable[SuperpixelTransformer]
