package irbis.lime

import irbis.core._
import org.apache.spark.ml.{Estimator, Model}
import org.apache.spark.ml.linalg.{Vector, Vectors}
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.ml.param.{DoubleArrayParam, ParamMap, Params}
import org.apache.spark.ml.stat.Summarizer
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.functions.col
import org.apache.spark.sql.types.{StructField, StructType}

trait VectorLIMEParams extends LIMEParams with HasInputCol {
  setDefault(inputCol -> "features", kernelWidth -> 0.75)
}

class VectorLIME(override val uid: String) extends Estimator[VectorLIMEModel] with IrbisStage with VectorLIMEParams {
  def this() = this(Identifiable.randomUID("VectorLIME"))

  override def stageDoc: String =
    "LIME for models whose input is one vector column. Fitting on background data records each element's mean " +
      "and standard deviation; the model then explains each row by scoring numSamples vectors drawn from " +
      "N(mean, std^2) element by element (one distributed pass of the model over all samples of all rows) and " +
      "fitting a kernel-weighted ridge regression of the target score on the standardised elements. Outputs per " +
      "row: for each target class, one weight per vector element, the intercept and the local model's R^2."

  override def transformSchema(schema: StructType): StructType = {
    Columns.requireType(schema, uid, getInputCol, "a vector (the model's features)")(Columns.isVector)
    explanationSchema(schema, uid)
  }

  override def fit(dataset: Dataset[_]): VectorLIMEModel = {
    transformSchema(dataset.schema)
    requireModel(uid)
    val summary =
      dataset.select(Summarizer.metrics("mean", "variance", "count").summary(ColumnRef(getInputCol)).as("s"))
        .select("s.mean", "s.variance", "s.count").head()
    val n = summary.getLong(2)
    if (n == 0)
      throw new IllegalArgumentException(s"$uid: the background data has no rows with a vector in '$getInputCol'")
    val means = summary.getAs[Vector](0).toArray
    // Population standard deviation, as the lime package's StandardScaler uses.
    val stds = summary.getAs[Vector](1).toArray.map(v => math.sqrt(v * (n - 1).toDouble / n))
    copyValues(new VectorLIMEModel(uid).setFeatureMeans(means).setFeatureStds(stds).setParent(this))
  }

  override def copy(extra: ParamMap): VectorLIME = defaultCopy[VectorLIME](extra)
}

object VectorLIME extends IrbisReadable[VectorLIME]

class VectorLIMEModel(override val uid: String) extends Model[VectorLIMEModel] with IrbisStage with VectorLIMEParams {
  def this() = this(Identifiable.randomUID("VectorLIMEModel"))

  override def stageDoc: String =
    "Explains each row's vector with LIME, sampling each element from the background statistics recorded by " +
      "VectorLIME (see there)."

  final val featureMeans = new DoubleArrayParam(this, "featureMeans", "Background mean of each vector element.")
  final val featureStds = new DoubleArrayParam(this, "featureStds",
    "Background (population) standard deviation of each vector element; 0 is treated as 1.",
    Validators.each(Validators.gtEq(0)))
  def getFeatureMeans: Array[Double] = $(featureMeans)
  def setFeatureMeans(value: Array[Double]): this.type = set(featureMeans, value)
  def getFeatureStds: Array[Double] = $(featureStds)
  def setFeatureStds(value: Array[Double]): this.type = set(featureStds, value)

  override def transformSchema(schema: StructType): StructType = {
    Columns.requireType(schema, uid, getInputCol, "a vector (the model's features)")(Columns.isVector)
    explanationSchema(schema, uid)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    requireModel(uid)
    val stats: IndexedSeq[FeatureStats] = getFeatureMeans.toIndexedSeq.zip(getFeatureStds).map { case (m, s) =>
      NumericStats(m, s)
    }
    if (stats.length != getFeatureStds.length) throw new IllegalArgumentException(
      s"$uid: featureMeans has ${getFeatureMeans.length} values but featureStds ${getFeatureStds.length}")
    val (n, seed0, column, stage) = (getNumSamples, getSeed, getInputCol, uid)
    val identity: IndexedSeq[Double => Any] = IndexedSeq.fill(stats.length)((x: Double) => x)
    val field = StructField(column, VectorType, nullable = true)
    LIMEEngine.explain(this, uid, dataset, Seq(column), Seq(field),
      { (r: Row) =>
        val v = r.getAs[Vector](0)
        if (v == null) Iterator.empty
        else {
          if (v.size != stats.length) throw new IllegalArgumentException(
            s"$stage: a vector in '$column' has ${v.size} elements; the background data had ${stats.length}")
          TabularSampling.samples(stats, v.toArray.toIndexedSeq, n, LIMEEngine.rowSeed(seed0, v.hashCode), identity)
            .iterator.map(p => p.copy(values = Seq(Vectors.dense(p.values.map(_.asInstanceOf[Double]).toArray))))
        }
      })
  }

  override def copy(extra: ParamMap): VectorLIMEModel = copyValues(new VectorLIMEModel(uid), extra).setParent(parent)
}

object VectorLIMEModel extends IrbisReadable[VectorLIMEModel]
