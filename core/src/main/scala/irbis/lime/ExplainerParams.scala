package irbis.lime

import irbis.core.{ColumnRef, Columns, StageParam, StringParam, Validators}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.ml.param.{IntArrayParam, Params}
import org.apache.spark.sql.{Column, DataFrame}
import org.apache.spark.sql.functions.{array, udf}
import org.apache.spark.sql.types.DoubleType

/**
 * The Params every explainer shares (LIME, Kernel SHAP, ICE): the model it explains, the model's output column and
 * which classes of it. Each family words what it does with them in its own docs.
 */
trait ExplainerParams extends Params {
  protected def modelDoc: String
  protected def targetColDoc: String =
    "The model's output column whose scores are explained: a vector (e.g. 'probability', one score per class) " +
      "or a number (e.g. a regression's 'prediction', explained as class 0)."
  protected def targetClassesDoc: String
  protected def targetClassesValid: Array[Int] => Boolean = Validators.each(Validators.gtEq(0))

  final val model = new StageParam[Transformer](this, "model", modelDoc)
  final val targetCol = new StringParam(this, "targetCol", targetColDoc, Validators.nonEmpty)
  final val targetClasses = new IntArrayParam(this, "targetClasses", targetClassesDoc, targetClassesValid)
  setDefault(targetCol -> "probability")

  def getModel: Transformer = $(model)
  def setModel(value: Transformer): this.type = set(model, value)
  def getTargetCol: String = $(targetCol)
  def setTargetCol(value: String): this.type = set(targetCol, value)
  def getTargetClasses: Array[Int] = $(targetClasses)
  def setTargetClasses(value: Array[Int]): this.type = set(targetClasses, value)

  protected def requireModel(stage: String): Transformer =
    get(model).getOrElse(throw new IllegalArgumentException(s"$stage: set 'model' to the Transformer to explain"))

  /**
   * targetCol of the model's output `scored` as an array of doubles (a number as one score), or an error naming
   * the columns the model gave, less the explainer's own (`internalPrefix`).
   */
  private[lime] def targetScores(scored: DataFrame, stage: String, internalPrefix: String): Column = {
    val target = Columns.requireType(scored.schema, stage, getTargetCol,
      "a vector or a number: the model's output to explain (set targetCol to one of " +
        s"${scored.schema.fieldNames.filterNot(_.startsWith(internalPrefix)).mkString(", ")})"
    )(t => t == VectorType || Columns.isNumeric(t))
    if (target.dataType == VectorType)
      udf((v: Vector) => if (v == null) null else v.toArray).apply(ColumnRef(getTargetCol))
    else array(ColumnRef(getTargetCol).cast(DoubleType))
  }
}
