package irbis.image

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.ml.linalg.Vectors
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.functions.udf
import org.apache.spark.sql.types.StructType

object Unrolling {
  val OrderDoc: String =
    "The vector holds nChannels x height x width doubles (0 to 255), channel-major: all of the first stored " +
      "channel (B for colour images, which are BGR) row by row from the top-left pixel, then the second " +
      "channel, and so on; i.e. index (c * height + y) * width + x."
}

class UnrollImage(override val uid: String) extends Transformer with IrbisStage
  with HasInputCol with HasOutputCol with HasErrorCol {
  def this() = this(Identifiable.randomUID("UnrollImage"))

  override def stageDoc: String =
    "Turns an image struct (Spark's image schema) into a dense vector of its pixel values. " + Unrolling.OrderDoc +
      " A null image gives a null vector; a malformed one also a message in errorCol."

  setDefault(inputCol -> "image", outputCol -> "unrolled")

  override def transformSchema(schema: StructType): StructType = {
    SparkImage.requireImageColumn(schema, uid, getInputCol)
    ImageRows.checkOutputs(schema, uid, getInputCol, getOutputCol, getErrorCol)
    ImageRows.outputSchema(schema, getOutputCol, VectorType, getErrorCol)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val (stage, column) = (getClass.getSimpleName, getInputCol)
    val fn = udf { (row: Row) =>
      val origin = if (row == null) null else SparkImage.origin(row)
      val (v, e) = ImageRows.guarded[org.apache.spark.ml.linalg.Vector](stage, column, origin) {
        if (row == null) null else Vectors.dense(SparkImage.doublesChannelMajor(SparkImage.toMat(row)))
      }
      VectorResult(v, e)
    }.asNondeterministic()
    ImageRows.attach(dataset.toDF(), fn(ColumnRef(getInputCol)), "vector", getOutputCol, getErrorCol)
  }

  override def copy(extra: ParamMap): UnrollImage = defaultCopy(extra)
}

object UnrollImage extends IrbisReadable[UnrollImage]
