package irbis.image

import scala.util.control.NonFatal

import irbis.core.{ColumnRef, Columns, EnumParam, HasErrorColParam, StringParam, Validators}
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.ml.param.{LongParam, Params}
import org.apache.spark.sql.{Column, DataFrame, Dataset, Row}
import org.apache.spark.sql.api.java.{UDF1, UDF2}
import org.apache.spark.sql.expressions.UserDefinedFunction
import org.apache.spark.sql.functions.{coalesce, col, lit, udf}
import org.apache.spark.sql.types.{ArrayType, BinaryType, DataType, StringType, StructField, StructType}
import org.bytedeco.javacpp.PointerScope

/** What the per-row functions return; Spark encodes them as structs that the stages then split. */
case class TensorResult(tensor: Array[Float], error: String)
case class VectorResult(vector: Vector, error: String)

trait HasErrorCol extends HasErrorColParam {
  override protected def errorColDoc: String =
    "Column for each row's error message (null when the row is fine): a row whose image cannot be read or " +
      "processed gets a null result and the reason here instead of failing the job. If the column already " +
      "exists (e.g. written by an earlier image stage), earlier messages are kept and new ones fill the rows " +
      "that had none."
  override protected def errorColIsValid: String => Boolean = Validators.nonEmpty
  setDefault(errorCol -> "error")
}

/** Params of the stages that decode encoded image files (bytes such as `binaryFile`'s `content`). */
trait DecodeParams extends Params {
  final val colorMode = new EnumParam(this, "colorMode", Decoding.ColorModeDoc, Decoding.ColorModes)
  final val maxPixels = new LongParam(this, "maxPixels",
    "Largest image accepted, in pixels (width x height). Larger images give a null result and an error naming " +
      "the file; the size is read from JPEG, PNG, GIF and BMP headers before decoding, so a huge frame is " +
      "refused without allocating it.", Validators.gt(0))
  final val pathCol = new StringParam(this, "pathCol",
    "Column holding each row's file path (binaryFile's 'path'): kept as the image's origin and named in error " +
      "messages. Empty for none. When left at its default and no such column exists, origins are null.")
  setDefault(colorMode -> "color", maxPixels -> 100000000L, pathCol -> "path")

  final def getColorMode: String = $(colorMode)
  def setColorMode(value: String): this.type = set(colorMode, value)
  final def getMaxPixels: Long = $(maxPixels)
  def setMaxPixels(value: Long): this.type = set(maxPixels, value)
  final def getPathCol: String = $(pathCol)
  def setPathCol(value: String): this.type = set(pathCol, value)

  def decodeSettings: DecodeSettings = DecodeSettings(getColorMode, getMaxPixels)

  /** The input must be an image struct or encoded files (binary); for the latter, an explicit path column must exist. */
  protected def requireImageOrBytes(schema: StructType, stage: String, column: String): Unit = {
    SparkImage.requireImageOrBytes(schema, stage, column)
    if (schema(column).dataType == BinaryType) originColumn(schema, stage)
  }

  /**
   * One `pipeline.tensor` per row of `column` (image structs, or encoded files decoded on the way), as a
   * (tensor, error) struct for [[ImageRows.attach]]. `stage` names the stage in the row errors.
   */
  protected def tensorResults(dataset: Dataset[_], column: String, pipeline: ImagePipeline, stage: String): Column = {
    val settings = decodeSettings
    if (dataset.schema(column).dataType == BinaryType)
      udf { (bytes: Array[Byte], origin: String) =>
        val (t, e) = ImageRows.guarded[Array[Float]](stage, column, origin) {
          Option(Decoding.decode(bytes, settings)).map(pipeline.tensor).orNull
        }
        TensorResult(t, e)
      }.asNondeterministic()(ColumnRef(column), originColumn(dataset.schema, uid))
    else
      udf { (row: Row) =>
        val origin = if (row == null) null else SparkImage.origin(row)
        val (t, e) = ImageRows.guarded[Array[Float]](stage, column, origin) {
          if (row == null) null else pipeline.tensor(SparkImage.toMat(row))
        }
        TensorResult(t, e)
      }.asNondeterministic()(ColumnRef(column))
  }

  /** The origin column, or a null literal; a path column set explicitly must exist. */
  protected def originColumn(schema: StructType, stage: String): Column =
    if (getPathCol.isEmpty || (!isSet(pathCol) && !schema.fieldNames.contains(getPathCol))) lit(null).cast(StringType)
    else {
      Columns.requireType(schema, stage, getPathCol, "a string (the file path)")(_ == StringType)
      ColumnRef(getPathCol)
    }
}

private[irbis] object ImageRows {

  /**
   * Runs one row's native work inside a pointer scope (every Mat it creates is freed when it ends, not at
   * the next GC) and turns any failure into that row's error message.
   */
  def guarded[T >: Null](stage: String, column: String, origin: String)(body: => T): (T, String) = {
    val scope = new PointerScope()
    try (body, null)
    catch { case NonFatal(e) => (null, message(stage, column, origin, e)) }
    finally scope.close()
  }

  /** Names the stage by class, not uid: the same stage built in any language writes the same rows. */
  def message(stage: String, column: String, origin: String, e: Throwable): String = {
    val what = if (origin == null) "image with no origin" else s"image '$origin'"
    val why = Option(e.getMessage).filter(_.nonEmpty).getOrElse(e.getClass.getName)
    s"$stage: column '$column', $what: $why"
  }

  val ResultCol = "__irbis_image_result"

  /**
   * Image results go through Row UDFs with an explicit type rather than encoders: Spark's image schema has
   * non-nullable fields that an encoded case class cannot produce.
   */
  val ImageResultType: StructType =
    StructType(Seq(StructField("image", SparkImage.schema), StructField("error", StringType)))

  def imageResult(image: ImageRecord, error: String): Row = {
    val struct = if (image == null) null
    else Row(image.origin, image.height, image.width, image.nChannels, image.mode, image.data)
    Row(struct, error)
  }

  /** A non-deterministic UDF (see [[attach]]) of one column giving (image, error). */
  def imageUdf[A](f: A => (ImageRecord, String)): UserDefinedFunction =
    udf(new UDF1[A, Row] { def call(a: A): Row = { val (i, e) = f(a); imageResult(i, e) } }, ImageResultType)
      .asNondeterministic()

  def imageUdf2[A, B](f: (A, B) => (ImageRecord, String)): UserDefinedFunction =
    udf(new UDF2[A, B, Row] { def call(a: A, b: B): Row = { val (i, e) = f(a, b); imageResult(i, e) } },
      ImageResultType)
      .asNondeterministic()

  /** Several results per row, for a generator (which Spark evaluates once per row anyway). */
  def imagesUdf[A](f: A => Seq[(ImageRecord, String)]): UserDefinedFunction =
    udf(new UDF1[A, Seq[Row]] { def call(a: A): Seq[Row] = f(a).map { case (i, e) => imageResult(i, e) } },
      ArrayType(ImageResultType))

  /**
   * Splits a result struct column (`<field>`, `error`) into the output column and the error column, merged
   * with an existing one. The UDF must be non-deterministic so that Spark does
   * not inline it once per field.
   */
  def attach(df: DataFrame, result: Column, field: String, outputCol: String, errorCol: String): DataFrame = {
    val fresh = col(s"$ResultCol.error")
    val error = if (df.columns.contains(errorCol)) coalesce(ColumnRef(errorCol), fresh) else fresh
    df.withColumn(ResultCol, result)
      .withColumn(outputCol, col(s"$ResultCol.$field"))
      .withColumn(errorCol, error)
      .drop(ResultCol)
  }

  def checkOutputs(schema: StructType, stage: String, inputCol: String, outputCol: String, errorCol: String): Unit = {
    require(outputCol != errorCol, s"$stage: outputCol and errorCol are both '$outputCol'; give them different names")
    schema.fields.find(_.name == errorCol).foreach { f =>
      if (f.dataType != StringType) throw new IllegalArgumentException(
        s"$stage: error column '$errorCol' exists with type ${f.dataType.simpleString}; expected a string " +
          "(or choose another errorCol)")
    }
    if (outputCol != inputCol && schema.fieldNames.contains(outputCol) && outputCol != errorCol)
      Columns.requireAbsent(schema, stage, outputCol)
  }

  def outputSchema(schema: StructType, outputCol: String, outputType: DataType, errorCol: String): StructType = {
    val replaced = StructType(schema.fields.map { f =>
      if (f.name == outputCol) f.copy(dataType = outputType, nullable = true) else f
    })
    val withOut =
      if (replaced.fieldNames.contains(outputCol)) replaced else replaced.add(outputCol, outputType, nullable = true)
    if (withOut.fieldNames.contains(errorCol)) withOut else withOut.add(errorCol, StringType, nullable = true)
  }
}
