package irbis.lime

import irbis.core._
import org.apache.spark.ml.{Estimator, Model}
import org.apache.spark.ml.linalg.{Vector, Vectors}
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.ml.param.{DoubleArrayArrayParam, IntParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.types.{StructField, StructType}

trait VectorSHAPParams extends SHAPParams with HasInputCol {
  setDefault(inputCol -> "features")
}

class VectorSHAP(override val uid: String) extends Estimator[VectorSHAPModel] with IrbisStage with VectorSHAPParams {
  def this() = this(Identifiable.randomUID("VectorSHAP"))

  override def stageDoc: String =
    "Kernel SHAP for models whose input is one vector column, each element a feature. Fitting keeps the " +
      "background vectors (at most maxBackgroundRows); the model then explains each row by evaluating coalitions " +
      "of its elements (in a coalition's samples the elements in it take the row's value, the others a background " +
      "vector's, one sample per background vector; all rows' samples in one distributed pass of the model) and " +
      "solving the Shapley-kernel weighted least squares with the base value and the efficiency constraint " +
      "enforced, as TabularSHAP (see there). Outputs per row: for each target class a vector [base value, one " +
      "value per element], and the fit's R^2 per class (metricsCol)."

  override def transformSchema(schema: StructType): StructType = {
    Columns.requireType(schema, uid, getInputCol, "a vector (the model's features)")(Columns.isVector)
    shapSchema(schema, uid)
  }

  override def fit(dataset: Dataset[_]): VectorSHAPModel = {
    Columns.requireType(dataset.schema, uid, getInputCol, "a vector (the model's features)")(Columns.isVector)
    requireModel(uid)
    val vectors = dataset.select(ColumnRef(getInputCol)).where(ColumnRef(getInputCol).isNotNull)
    val rows = keptBackground(vectors, s"has no vectors in '$getInputCol'").map(_.getAs[Vector](0).toArray)
    if (rows.exists(_.length != rows.head.length)) throw new IllegalArgumentException(
      s"$uid: the background vectors in '$getInputCol' have different sizes (${rows.map(_.length).distinct.sorted
          .mkString(", ")})")
    copyValues(new VectorSHAPModel(uid).setBackground(rows).setParent(this))
  }

  override def copy(extra: ParamMap): VectorSHAP = defaultCopy[VectorSHAP](extra)
}

object VectorSHAP extends IrbisReadable[VectorSHAP]

class VectorSHAPModel(override val uid: String) extends Model[VectorSHAPModel] with IrbisStage with VectorSHAPParams {
  def this() = this(Identifiable.randomUID("VectorSHAPModel"))

  override def stageDoc: String =
    "Explains each row's vector with Kernel SHAP against the background vectors kept by VectorSHAP (see there)."

  final val background = new DoubleArrayArrayParam(this, "background",
    "The background vectors (dense, all of one size), written by VectorSHAP.fit.")
  def getBackground: Array[Array[Double]] = $(background)
  def setBackground(value: Array[Array[Double]]): this.type = set(background, value)

  override def transformSchema(schema: StructType): StructType = {
    Columns.requireType(schema, uid, getInputCol, "a vector (the model's features)")(Columns.isVector)
    shapSchema(schema, uid)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    requireModel(uid)
    val bg = get(background).filter(_.nonEmpty).getOrElse(throw new IllegalArgumentException(
        s"$uid: no background vectors; fit VectorSHAP on background data")).toIndexedSeq
      .map(_.toIndexedSeq: IndexedSeq[Any])
    val (column, stage, size) = (getInputCol, uid, bg.head.length)
    if (bg.exists(_.length != size))
      throw new IllegalArgumentException(s"$uid: the background vectors have different sizes")
    val field = StructField(column, VectorType, nullable = true)
    val masked =
      SHAPEngine.againstBackground(bg,
        (x: IndexedSeq[Any]) => Seq(Vectors.dense(x.map(_.asInstanceOf[Double]).toArray))) _
    SHAPEngine.explain(this, uid, dataset, Seq(column), Seq(field),
      { (r: Row) =>
        val v = r.getAs[Vector](0)
        if (v == null) None
        else {
          if (v.size != size) throw new IllegalArgumentException(
            s"$stage: a vector in '$column' has ${v.size} elements; the background data had $size")
          Some(masked(v.toArray.toIndexedSeq))
        }
      })
  }

  override def copy(extra: ParamMap): VectorSHAPModel = copyValues(new VectorSHAPModel(uid), extra).setParent(parent)
}

object VectorSHAPModel extends IrbisReadable[VectorSHAPModel]
