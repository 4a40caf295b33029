package irbis.stages

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{BooleanParam, DoubleParam, ParamMap, StringArrayParam}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{Column, DataFrame, Dataset, Row}
import org.apache.spark.sql.functions._
import org.apache.spark.sql.types._

class SummarizeData(override val uid: String) extends Transformer with IrbisStage {
  def this() = this(Identifiable.randomUID("SummarizeData"))

  override def stageDoc: String =
    "Summarizes columns: one output row per input column (`feature`) with, as selected, counts (`count` of " +
      "non-missing values, `uniqueValueCount` of distinct non-missing values, `missingValueCount` of nulls and " +
      "NaNs), basic statistics (`mean`, `stddev` with n - 1 in the denominator, `min`, `max`), percentiles " +
      "(`p0_5`, `p1`, `p5`, `p25`, `p50`, `p75`, `p95`, `p99`, `p99_5`) and sample statistics (`variance` with " +
      "n - 1, `skewness` and excess `kurtosis`, both the biased moment estimators: scipy.stats.skew and " +
      "scipy.stats.kurtosis with their defaults bias=True, fisher=True). Statistics ignore missing values and " +
      "are null for non-numeric columns. Percentiles come from Dataset.stat.approxQuantile: with " +
      "`errorThreshold` 0 (the default) they are exact, the smallest value v with at least a fraction p of the " +
      "values <= v (numpy.quantile's method='inverted_cdf'); a larger threshold bounds the rank error by " +
      "errorThreshold * n and costs less memory."

  final val inputCols = new StringArrayParam(this, "inputCols",
    "The columns to summarize; all columns when empty.")
  setDefault(inputCols -> Array.empty[String])
  def getInputCols: Array[String] = $(inputCols)
  def setInputCols(value: Array[String]): this.type = set(inputCols, value)

  private def flag(name: String, what: String): BooleanParam = {
    val p = new BooleanParam(this, name, s"Compute $what.")
    setDefault(p -> true)
    p
  }
  final val counts = flag("counts", "count, uniqueValueCount and missingValueCount")
  final val basic = flag("basic", "mean, stddev, min and max")
  final val percentiles = flag("percentiles", "the percentiles p0_5 to p99_5")
  final val sample = flag("sample", "variance, skewness and kurtosis")
  def getCounts: Boolean = $(counts)
  def setCounts(value: Boolean): this.type = set(counts, value)
  def getBasic: Boolean = $(basic)
  def setBasic(value: Boolean): this.type = set(basic, value)
  def getPercentiles: Boolean = $(percentiles)
  def setPercentiles(value: Boolean): this.type = set(percentiles, value)
  def getSample: Boolean = $(sample)
  def setSample(value: Boolean): this.type = set(sample, value)

  final val errorThreshold = new DoubleParam(this, "errorThreshold",
    "The relative rank error allowed for percentiles, in [0, 1]; 0 computes them exactly.",
    Validators.inRange(0, 1))
  setDefault(errorThreshold -> 0.0)
  def getErrorThreshold: Double = $(errorThreshold)
  def setErrorThreshold(value: Double): this.type = set(errorThreshold, value)

  private val Probabilities = Seq(0.005, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.995)
  private val PercentileNames = Seq("p0_5", "p1", "p5", "p25", "p50", "p75", "p95", "p99", "p99_5")

  private def outputs: Seq[(String, DataType)] =
    Seq("feature" -> StringType) ++
      (if (getCounts) Seq("count", "uniqueValueCount", "missingValueCount").map(_ -> LongType) else Nil) ++
      (if (getBasic) Seq("mean", "stddev", "min", "max").map(_ -> DoubleType) else Nil) ++
      (if (getPercentiles) PercentileNames.map(_ -> DoubleType) else Nil) ++
      (if (getSample) Seq("variance", "skewness", "kurtosis").map(_ -> DoubleType) else Nil)

  private def columns(schema: StructType): Seq[String] = {
    val names = if (getInputCols.isEmpty) schema.fieldNames.toSeq else getInputCols.toSeq
    names.foreach(Columns.require(schema, uid, _))
    names
  }

  override def transformSchema(schema: StructType): StructType = {
    columns(schema)
    StructType(outputs.map { case (n, t) => StructField(n, t, nullable = n != "feature") })
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    val schema = transformSchema(dataset.schema, logging = true)
    val df = dataset.toDF()
    val names = columns(df.schema)
    def numeric(name: String): Boolean = Columns.isNumeric(df.schema(name).dataType)
    // Missing: null, and NaN in floating-point columns; statistics see only the present values.
    def present(name: String): Column = df.schema(name).dataType match {
      case DoubleType | FloatType => when(!isnan(ColumnRef(name)), ColumnRef(name))
      case _ => ColumnRef(name)
    }
    def stats(name: String): Seq[Column] = {
      val x = present(name)
      val v = x.cast(DoubleType)
      val nullDouble = lit(null).cast(DoubleType)
      def num(c: Column) = if (numeric(name)) c else nullDouble
      (if (getCounts) Seq(count(x), count_distinct(x), count(lit(1)) - count(x)) else Nil) ++
        (if (getBasic) Seq(num(avg(v)), num(stddev_samp(v)), num(min(v)), num(max(v))) else Nil) ++
        (if (getSample) Seq(num(var_samp(v)), num(skewness(v)), num(kurtosis(v))) else Nil)
    }
    val perColumn = names.map(stats)
    val aggregated: Row =
      if (perColumn.forall(_.isEmpty)) Row.empty else df.agg(perColumn.flatten.head, perColumn.flatten.tail: _*).head()
    val quantiles: Map[String, Array[Double]] =
      if (!getPercentiles) Map.empty
      else {
        val numericNames = names.filter(numeric).distinct
        val cleaned = df.select(numericNames.map(n => present(n).cast(DoubleType).as(n)): _*)
        val qs = if (numericNames.isEmpty) Array.empty[Array[Double]]
        else cleaned.stat.approxQuantile(numericNames.toArray, Probabilities.toArray, getErrorThreshold)
        numericNames.zip(qs).toMap
      }
    val offsets = perColumn.map(_.length).scanLeft(0)(_ + _)
    val rows = names.indices.map { k =>
      val name = names(k)
      val values = (offsets(k) until offsets(k + 1)).map(aggregated.get)
      val (countPart, rest) = values.splitAt(if (getCounts) 3 else 0)
      val (basicPart, samplePart) = rest.splitAt(if (getBasic) 4 else 0)
      val pcts: Seq[Any] = if (!getPercentiles) Nil
      else quantiles.get(name) match {
        case Some(q) if q.nonEmpty => q.toSeq
        case _ => Seq.fill(Probabilities.length)(null)
      }
      Row.fromSeq((name +: countPart) ++ basicPart ++ pcts ++ samplePart)
    }
    df.sparkSession.createDataFrame(df.sparkSession.sparkContext.parallelize(rows, 1), schema)
  }

  override def copy(extra: ParamMap): SummarizeData = defaultCopy(extra)
}

object SummarizeData extends IrbisReadable[SummarizeData]
