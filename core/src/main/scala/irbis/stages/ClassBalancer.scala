package irbis.stages

import irbis.core._
import org.apache.spark.ml.{Estimator, Model}
import org.apache.spark.ml.param.{ParamMap, Params}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{Column, DataFrame, Dataset}
import org.apache.spark.sql.functions._
import org.apache.spark.sql.types._

trait ClassBalancerParams extends Params with HasInputCol with HasOutputCol {
  setDefault(outputCol -> "weight")

  final val normalization = new EnumParam(this, "normalization",
    "How inverse class frequencies are scaled. Balanced: n / (k * count) for n rows and k classes, as " +
      "scikit-learn's compute_class_weight('balanced'), so the weights sum to n and the mean weight is 1; " +
      "MaxCount: maxCount / count, so the most frequent class weighs 1.", Seq("Balanced", "MaxCount"))
  setDefault(normalization -> "Balanced")
  def getNormalization: String = $(normalization)
  def setNormalization(value: String): this.type = set(normalization, value)

  /** Labels are compared by their text (any atomic column type works, the same at fit and transform). */
  protected def labelKey(name: String): Column = ColumnRef(name).cast(StringType)

  protected def validateAndTransformSchema(schema: StructType): StructType = {
    Columns.requireType(schema, uid, getInputCol, LabelTypes.expected)(LabelTypes.ok)
    Columns.requireAbsent(schema, uid, getOutputCol)
    schema.add(getOutputCol, DoubleType, nullable = true)
  }
}

/** Label columns: one value per row that reads as text (numbers, strings, booleans, dates). */
private[stages] object LabelTypes {
  val expected = "a label column of a simple type (string, number, boolean, date)"
  def ok(t: DataType): Boolean = t match {
    case _: NumericType | _: StringType | BooleanType | DateType | TimestampType | TimestampNTZType => true
    case _ => false
  }
}

class ClassBalancer(override val uid: String) extends Estimator[ClassBalancerModel]
  with IrbisStage with ClassBalancerParams {
  def this() = this(Identifiable.randomUID("ClassBalancer"))

  override def stageDoc: String =
    "Adds a weight column that balances the classes of a label column: each row weighs the inverse of its " +
      "class's frequency, scaled by `normalization`, so that every class carries the same total weight. Use " +
      "it as the weightCol of a classifier trained on imbalanced data."

  override def transformSchema(schema: StructType): StructType = validateAndTransformSchema(schema)

  override def fit(dataset: Dataset[_]): ClassBalancerModel = {
    transformSchema(dataset.schema, logging = true)
    val counts = dataset.toDF().groupBy(labelKey(getInputCol).as("label")).count().collect()
      .map(r => (Option(r.getString(0)), r.getLong(1)))
    counts.find(_._1.isEmpty).foreach { case (_, n) =>
      throw new IllegalArgumentException(
        s"$uid: label column '$getInputCol' has $n null values; every row needs a label")
    }
    require(counts.nonEmpty, s"$uid: cannot fit on an empty dataset (column '$getInputCol' has no labels)")
    val total = counts.map(_._2).sum.toDouble
    val maxCount = counts.map(_._2).max.toDouble
    val weights = counts.map { case (label, n) =>
      label.get -> (if (getNormalization == "Balanced") total / (counts.length * n) else maxCount / n)
    }.toMap
    copyValues(new ClassBalancerModel(uid).setWeights(weights).setParent(this))
  }

  override def copy(extra: ParamMap): ClassBalancer = defaultCopy(extra)
}

object ClassBalancer extends IrbisReadable[ClassBalancer]

class ClassBalancerModel(override val uid: String) extends Model[ClassBalancerModel]
  with IrbisStage with ClassBalancerParams {
  def this() = this(Identifiable.randomUID("ClassBalancerModel"))

  override def stageDoc: String = "Adds the class weights that ClassBalancer computed, looked up by label."

  final val weights = new StringDoubleMapParam(this, "weights",
    "The weight of each label (labels written as text).", Validators.each(Validators.gt(0)))
  def getWeights: Map[String, Double] = $(weights)
  def setWeights(value: Map[String, Double]): this.type = set(weights, value)

  override def transformSchema(schema: StructType): StructType = validateAndTransformSchema(schema)

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val key = labelKey(getInputCol)
    val weight = typedLit(getWeights).getItem(key)
    val column = getInputCol
    dataset.toDF().withColumn(getOutputCol,
      when(key.isNull, raise_error(lit(s"$uid: label column '$column' has a null value; every row needs a label")))
        .when(weight.isNull,
          raise_error(concat(lit(s"$uid: label '"), key,
              lit(
                s"' in column '$column' was not seen when fitting; known labels: ${getWeights.keys.toSeq.sorted.mkString(", ")}"))))
        .otherwise(weight).cast(DoubleType))
  }

  override def copy(extra: ParamMap): ClassBalancerModel =
    copyValues(new ClassBalancerModel(uid), extra).setParent(parent)
}

object ClassBalancerModel extends IrbisReadable[ClassBalancerModel]
