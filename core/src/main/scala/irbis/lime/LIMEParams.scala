package irbis.lime

import irbis.core.{ColumnRef, Columns, HasOutputCol, StageParam, StringParam, Validators}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.linalg.{Vector, Vectors}
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.ml.param._
import org.apache.spark.sql.{Column, DataFrame, Dataset, Encoders, Row}
import org.apache.spark.sql.functions.{array, col, collect_list, struct, udf, xxhash64}
import org.apache.spark.sql.types._

/** One explained target class of one row. */
final case class LIMEExplanation(targetClass: Int, weights: Vector, intercept: Double, r2: Double)

/** What the local models were fitted on, when `samplesCol` asks for it: one entry per perturbed sample. */
final case class LIMESample(state: Vector, distance: Double, scores: Vector)

/** The sampling of the LIME stages that hide parts of the input: the stage names the part (token, superpixel). */
trait HasSamplingFraction extends Params {
  protected def sampledPart: String
  final val samplingFraction = new DoubleParam(this, "samplingFraction",
    s"Probability that a $sampledPart is kept in a perturbed sample (each one drawn independently).",
    Validators.inRange(0, 1, lowerInclusive = false, upperInclusive = false))
  setDefault(samplingFraction -> 0.7)
  def getSamplingFraction: Double = $(samplingFraction)
  def setSamplingFraction(value: Double): this.type = set(samplingFraction, value)
}

/** Params shared by every LIME stage: the model, what is explained, the sampling and the local model. */
trait LIMEParams extends ExplainerParams with HasOutputCol {
  override protected def modelDoc: String =
    "The model to explain: any Transformer, such as a fitted PipelineModel, an ONNXModel or an ImageFeaturizer " +
      "followed by a classifier. It is applied once to all perturbed samples of all rows together."
  override protected def targetClassesDoc: String =
    "Indices into targetCol's vector of the classes to explain, one explanation each. Empty (the default): the " +
      "class with the highest score for the unperturbed row."
  final val numSamples = new IntParam(this, "numSamples",
    "Perturbed samples per row, the unperturbed row included (it is sample 0).", Validators.gt(1))
  final val regularization = new DoubleParam(this, "regularization",
    "Ridge penalty (scikit-learn's alpha) of the local linear model; the intercept is not penalised.",
    Validators.gtEq(0))
  final val kernelWidth = new DoubleParam(this, "kernelWidth",
    "Width w of the kernel that weights each sample by its distance d from the row: sqrt(exp(-d^2 / w^2)).",
    Validators.gt(0))
  final val seed = new LongParam(this, "seed",
    "Random seed. Each row's samples depend only on the seed and the row's input value, so the same seed " +
      "gives the same explanation whatever the partitioning.")
  final val samplesCol = new StringParam(this, "samplesCol",
    "Column for the perturbed samples each local model was fitted on (interpretable state, distance, the " +
      "target scores), for inspection and testing; empty (the default) for none.")

  setDefault(outputCol -> "explanation", targetClasses -> Array.empty[Int],
    numSamples -> 1000, regularization -> 1.0, seed -> 0L, samplesCol -> "")

  def getNumSamples: Int = $(numSamples)
  def setNumSamples(value: Int): this.type = set(numSamples, value)
  def getRegularization: Double = $(regularization)
  def setRegularization(value: Double): this.type = set(regularization, value)
  def getKernelWidth: Double = $(kernelWidth)
  def setKernelWidth(value: Double): this.type = set(kernelWidth, value)
  def getSeed: Long = $(seed)
  def setSeed(value: Long): this.type = set(seed, value)
  def getSamplesCol: String = $(samplesCol)
  def setSamplesCol(value: String): this.type = set(samplesCol, value)

  /** The output columns' types (the explanation, and the samples if asked for). */
  protected def explanationSchema(schema: StructType, stage: String): StructType = {
    Columns.requireAbsent(schema, stage, getOutputCol)
    val withOut = schema.add(getOutputCol, LIMEEngine.ExplanationType, nullable = true)
    if (getSamplesCol.isEmpty) withOut
    else {
      Columns.requireAbsent(withOut, stage, getSamplesCol)
      withOut.add(getSamplesCol, LIMEEngine.SamplesType, nullable = true)
    }
  }
}

/** One perturbed sample: its interpretable state, its distance from the row, and the model's input values. */
final case class Perturbed(state: Array[Double], distance: Double, values: Seq[Any])

/**
 * The distributed pass shared by the LIME stages: every row's samples are generated next to it (a flatMap),
 * the user's model scores all of them in one `transform`, and the scores are grouped back by row, where the
 * weighted ridge models are fitted. Nothing is collected on the driver.
 */
private[lime] object LIMEEngine {
  val Id = "__lime_row"
  val Sample = "__lime_sample"
  val State = "__lime_state"
  val Distance = "__lime_distance"
  val Score = "__lime_score"

  val ExplanationType: DataType = ArrayType(
    StructType(Seq(
        StructField("targetClass", IntegerType, nullable = false),
        StructField("weights", VectorType, nullable = true),
        StructField("intercept", DoubleType, nullable = false),
        StructField("r2", DoubleType, nullable = false))), containsNull = true)
  val SamplesType: DataType = ArrayType(
    StructType(Seq(
        StructField("state", VectorType, nullable = true),
        StructField("distance", DoubleType, nullable = false),
        StructField("scores", VectorType, nullable = true))), containsNull = true)

  /** A per-row seed from the stage's seed and the row's input: independent of partitioning and order. */
  def rowSeed(seed: Long, inputHash: Int): Long = seed * 0x9e3779b97f4a7c15L + inputHash

  /**
   * @param inputCols   the columns `perturb` reads (in this order)
   * @param modelFields the columns (names and types) the model is given for each sample, in `Perturbed.values` order
   * @param perturb     all samples of one row (sample 0 the unperturbed row), made lazily so that only a few
   *                    are in memory at a time; no samples for a row that
   *                    cannot be explained (null input): its explanation is null
   */
  def explain(stage: LIMEParams, uid: String, dataset: Dataset[_], inputCols: Seq[String],
              modelFields: Seq[StructField],
              perturb: Row => Iterator[Perturbed]): DataFrame = {
    val model = stage.getModel
    val (targetCol, classes, width, alpha) =
      (stage.getTargetCol, stage.getTargetClasses, stage.getKernelWidth, stage.getRegularization)
    val keepSamples = stage.getSamplesCol.nonEmpty
    // Rows are keyed by a hash of their input, not by position: the input is read twice (for the samples
    // and for the final join), and positions (monotonically_increasing_id) can differ between two reads of
    // a non-deterministic plan such as a round-robin repartition. Rows with equal inputs share a key and
    // have equal samples (the seed depends on the input too); fitRow keeps one of each sample.
    val base = dataset.toDF().withColumn(Id, xxhash64(inputCols.map(ColumnRef(_)): _*))
    val sampleSchema = StructType(Seq(StructField(Id, LongType, nullable = false),
      StructField(Sample, IntegerType, nullable = false),
      StructField(State, ArrayType(DoubleType, containsNull = false)),
      StructField(Distance, DoubleType, nullable = false)) ++ modelFields)
    val samples = base.select((Id +: inputCols).map(ColumnRef(_)): _*).flatMap { r =>
      val id = r.getLong(0)
      val input = Row.fromSeq(r.toSeq.tail)
      perturb(input).zipWithIndex.map { case (p, i) => Row.fromSeq(Seq(id, i, p.state.toSeq, p.distance) ++ p.values) }
    }(Encoders.row(sampleSchema))

    val scored = model.transform(samples)
    val scoreColumn = stage.targetScores(scored, uid, "__lime")
    val grouped = scored
      .select(col(Id), struct(col(Sample), col(State), col(Distance), scoreColumn.as(Score)).as("s"))
      .groupBy(Id).agg(collect_list(col("s")).as("samples"))
    val fit = udf { (rows: Seq[Row]) => fitRow(rows, classes, width, alpha, targetCol, uid, keepSamples) }
    val fitted = grouped.select(col(Id), fit(col("samples")).as("fit"))
    val outputs = Seq(col("fit.explanations").as(stage.getOutputCol)) ++
      (if (keepSamples) Seq(col("fit.samples").as(stage.getSamplesCol)) else Nil)
    base.join(fitted.select(col(Id) +: outputs: _*), Seq(Id), "left").drop(Id)
  }

  final case class RowFit(explanations: Seq[LIMEExplanation], samples: Seq[LIMESample])

  def fitRow(rows: Seq[Row], requested: Array[Int], width: Double, alpha: Double, targetCol: String, uid: String,
             keepSamples: Boolean): RowFit = {
    val sorted = rows.groupBy(_.getInt(0)).values.map(_.head).toSeq.sortBy(_.getInt(0))
    val states = sorted.map(_.getSeq[Double](1).toArray).toArray
    val distances = sorted.map(_.getDouble(2)).toArray
    val scores = sorted.map { r =>
      val s = r.getSeq[java.lang.Double](3)
      if (s == null || s.exists(_ == null)) throw new IllegalArgumentException(
        s"$uid: the model gave a null score in '$targetCol' for a perturbed sample; LIME needs a score for every sample")
      s.map(_.doubleValue).toArray
    }.toArray
    val width0 = scores(0).length
    if (scores.exists(_.length != width0)) throw new IllegalArgumentException(
      s"$uid: '$targetCol' holds vectors of different sizes for the samples of one row")
    val classes = if (requested.nonEmpty) requested else Array(scores(0).indices.maxBy(scores(0)(_)))
    classes.foreach { c =>
      if (c >= width0) throw new IllegalArgumentException(
        s"$uid: targetClasses holds $c but '$targetCol' has only $width0 score(s) (classes 0 to ${width0 - 1})")
    }
    val features = if (states.isEmpty) 0 else states(0).length
    if (features >= states.length) throw new IllegalArgumentException(
      s"$uid: $features features for ${states.length} samples: a local model with at least as many weights as " +
        "samples fits any scores (R^2 near 1) and explains nothing; raise numSamples (10 times the features is a " +
        "good start) or explain fewer features")
    val weights = distances.map(LocalModel.kernel(_, width))
    val explanations = classes.toSeq.map { c =>
      val f = LocalModel.fit(states, scores.map(_(c)), weights, alpha)
      LIMEExplanation(c, Vectors.dense(f.coefficients), f.intercept, f.r2)
    }
    val kept = if (!keepSamples) null
    else states.indices.map(i =>
      LIMESample(Vectors.dense(states(i)), distances(i), Vectors.dense(scores(i))))
    RowFit(explanations, kept)
  }

  /** Cosine distance between a 0/1 mask and the all-ones mask (1 when nothing is kept), as LIME uses for images and text. */
  def maskDistance(kept: Int, total: Int): Double =
    if (kept == 0) 1.0 else 1.0 - math.sqrt(kept.toDouble / total)
}
