package irbis.train

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.linalg.{SQLDataTypes, Vector}
import org.apache.spark.ml.param.{DoubleParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.functions._
import org.apache.spark.sql.types._

class ComputePerInstanceStatistics(override val uid: String) extends Transformer with IrbisStage with HasScoredColumns
  with HasStatisticsKind {
  def this() = this(Identifiable.randomUID("ComputePerInstanceStatistics"))

  override def stageDoc: String =
    "Adds per-row statistics to scored data. Classification: `log_loss`, minus the natural log of the " +
      "probability of the true class clipped to [epsilon, 1 - epsilon] (scikit-learn's log_loss of that one row), " +
      "and `correct` (the prediction equals the label). Regression: `l1_loss` |label - prediction| and " +
      "`l2_loss` (label - prediction)^2."

  final val epsilon = new DoubleParam(this, "epsilon",
    "Probabilities are clipped to [epsilon, 1 - epsilon] before the log, so that a wrong certain prediction " +
      "has a finite loss. The default is the double machine epsilon, as scikit-learn's log_loss uses.",
    Validators.inRange(0.0, 0.5, lowerInclusive = false, upperInclusive = false))
  setDefault(epsilon -> Math.ulp(1.0))
  def getEpsilon: Double = $(epsilon)
  def setEpsilon(value: Double): this.type = set(epsilon, value)

  override def transformSchema(schema: StructType): StructType = {
    val s = scored(schema, uid)
    if (isClassification(schema, getEvaluationMetric, uid)) {
      val probs = s.scores.getOrElse(throw new IllegalArgumentException(
          s"$uid: classification statistics need class probabilities: no 'probability' column; set scoresCol"))
      Columns.requireType(schema, uid, probs, "a vector of class probabilities")(_ == SQLDataTypes.VectorType)
      Seq("log_loss", "correct").foreach(Columns.requireAbsent(schema, uid, _))
      schema.add("log_loss", DoubleType, nullable = false).add("correct", BooleanType, nullable = false)
    } else {
      Columns.requireType(schema, uid, s.label, "a numeric label for regression")(Columns.isNumeric)
      Columns.requireType(schema, uid, s.predicted, "a numeric prediction for regression")(Columns.isNumeric)
      Seq("l1_loss", "l2_loss").foreach(Columns.requireAbsent(schema, uid, _))
      schema.add("l1_loss", DoubleType, nullable = true).add("l2_loss", DoubleType, nullable = true)
    }
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val df = dataset.toDF()
    val s = scored(df.schema, uid)
    if (isClassification(df.schema, getEvaluationMetric, uid)) {
      val c = Classes.resolve(df, s)
      Classes.check(df, s, c)
      val eps = getEpsilon
      val stage = uid
      val probsCol = s.scores.get
      val vectorIndex = c.names.indices.map(i => Classes.vectorIndex(c, i)).toArray
      val loss = udf { (v: Vector, classIndex: Double) =>
        val i = vectorIndex(classIndex.toInt)
        if (v == null || i >= v.size) throw new IllegalArgumentException(
          s"$stage: column '$probsCol' has ${if (v == null) "a null" else s"a ${v.size}-element"} vector but the " +
            s"true class needs element $i")
        -math.log(math.min(math.max(v(i), eps), 1 - eps))
      }
      df.withColumn("log_loss", loss(ColumnRef(probsCol), c.labelIndex))
        .withColumn("correct", coalesce(c.labelIndex === c.predictedIndex, lit(false)))
    } else {
      val diff = ColumnRef(s.label).cast(DoubleType) - ColumnRef(s.predicted).cast(DoubleType)
      df.withColumn("l1_loss", abs(diff)).withColumn("l2_loss", diff * diff)
    }
  }

  override def copy(extra: ParamMap): ComputePerInstanceStatistics = defaultCopy(extra)
}

object ComputePerInstanceStatistics extends IrbisReadable[ComputePerInstanceStatistics]
