package irbis.lime

import irbis.core._
import org.apache.spark.ml.{Estimator, Model}
import org.apache.spark.ml.param.{IntParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.types._
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

trait TabularSHAPParams extends SHAPParams with HasInputCols {
  protected def checkColumns(schema: StructType, stage: String): Unit = getInputCols.foreach { c =>
    Columns.requireType(schema, stage, c, "a number, a string or a boolean (a feature)")(t =>
      Columns.isNumeric(t) || t == StringType || t == BooleanType)
  }
}

class TabularSHAP(override val uid: String) extends Estimator[TabularSHAPModel] with IrbisStage
  with TabularSHAPParams {
  def this() = this(Identifiable.randomUID("TabularSHAP"))

  override def stageDoc: String =
    "Kernel SHAP for models over table columns (numbers, strings, booleans). Fitting keeps the background data " +
      "(at most maxBackgroundRows rows); the model then explains each row by evaluating coalitions of its input " +
      "columns: in a coalition's samples the columns in the coalition take the row's value and the others a " +
      "background row's, one sample per background row, all rows' samples in one distributed pass of the model. " +
      "The SHAP values are the Shapley-kernel weighted least squares fit of the coalitions' mean outputs, with the " +
      "base value (the model's mean over the background) and the efficiency constraint (the values add up to the " +
      "row's output minus the base value) enforced exactly. When all coalitions fit in numSamples they are all " +
      "evaluated (exact Shapley values); otherwise they are sampled as the shap package's KernelExplainer does. " +
      "Outputs per row: for each target class a vector [base value, one value per input column in inputCols " +
      "order], and the fit's R^2 per class (metricsCol)."

  override def transformSchema(schema: StructType): StructType = {
    checkColumns(schema, uid)
    shapSchema(schema, uid)
  }

  override def fit(dataset: Dataset[_]): TabularSHAPModel = {
    checkColumns(dataset.schema, uid)
    requireModel(uid)
    val kept = keptBackground(dataset.select(getInputCols.toIndexedSeq.map(ColumnRef(_)): _*), "is empty")
    val json = compact(render(JArray(kept.toList.map(r => JArray(r.toSeq.toList.map(TabularSHAPModel.encode))))))
    copyValues(new TabularSHAPModel(uid).setBackground(json).setParent(this))
  }

  override def copy(extra: ParamMap): TabularSHAP = defaultCopy[TabularSHAP](extra)
}

object TabularSHAP extends IrbisReadable[TabularSHAP]

class TabularSHAPModel(override val uid: String) extends Model[TabularSHAPModel] with IrbisStage
  with TabularSHAPParams {
  def this() = this(Identifiable.randomUID("TabularSHAPModel"))

  override def stageDoc: String =
    "Explains each row with Kernel SHAP against the background rows kept by TabularSHAP (see there)."

  final val background = new StringParam(this, "background",
    "The background rows as JSON, an array of rows each an array of values in inputCols order, written by " +
      "TabularSHAP.fit.")
  def getBackground: String = $(background)
  def setBackground(value: String): this.type = set(background, value)

  override def transformSchema(schema: StructType): StructType = {
    checkColumns(schema, uid)
    shapSchema(schema, uid)
  }

  private def backgroundRows(schema: StructType): IndexedSeq[IndexedSeq[Any]] = {
    val types = getInputCols.toIndexedSeq.map(schema(_).dataType)
    val rows = get(background).map(parse(_)) match {
      case Some(JArray(rs)) => rs.map {
          case JArray(vs) if vs.length == types.length =>
            vs.zip(types).map { case (v, t) => TabularSHAPModel.decode(v, t) }.toIndexedSeq
          case other => throw new IllegalArgumentException(
              s"$uid: a background row ${compact(render(other))} does not hold one value per input column " +
                s"(${getInputCols.mkString(", ")}); refit TabularSHAP")
        }
      case _ => throw new IllegalArgumentException(s"$uid: no background rows; fit TabularSHAP on background data")
    }
    rows.toIndexedSeq
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    requireModel(uid)
    val schema = dataset.schema
    val bg = backgroundRows(schema)
    if (bg.isEmpty) throw new IllegalArgumentException(s"$uid: the background data is empty; refit TabularSHAP")
    val cols = getInputCols.toIndexedSeq
    val fields = cols.map(c => schema(c).copy(nullable = true))
    val masked = SHAPEngine.againstBackground(bg, (x: IndexedSeq[Any]) => x) _
    SHAPEngine.explain(this, uid, dataset, cols, fields,
      (r: Row) => if (r.anyNull) None else Some(masked(r.toSeq.toIndexedSeq)))
  }

  override def copy(extra: ParamMap): TabularSHAPModel = copyValues(new TabularSHAPModel(uid), extra).setParent(parent)
}

object TabularSHAPModel extends IrbisReadable[TabularSHAPModel] {
  private[lime] def encode(v: Any): JValue = if (v == null) JNull else TabularLIMEModel.encodeValue(v)

  private[lime] def decode(v: JValue, t: DataType): Any = v match {
    case JNull | JNothing => null
    case _ => TabularLIMEModel.decodeValue(v, t)
  }
}
