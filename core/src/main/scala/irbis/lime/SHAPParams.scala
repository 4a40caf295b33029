package irbis.lime

import irbis.core.{ColumnRef, Columns, HasOutputCol, StageParam, StringParam, Validators}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.linalg.{Vector, Vectors}
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.ml.param._
import org.apache.spark.sql.{Column, DataFrame, Dataset, Encoders, Row}
import org.apache.spark.sql.functions.{array, col, collect_list, struct, udf, xxhash64}
import org.apache.spark.sql.types._

/** Params shared by the Kernel SHAP stages: the model, what is explained, and the coalition budget. */
trait SHAPParams extends ExplainerParams with HasOutputCol {
  override protected def modelDoc: String =
    "The model to explain: any Transformer, such as a fitted PipelineModel or an ONNXModel. It is applied once " +
      "to all coalition samples of all rows together."
  override protected def targetClassesDoc: String =
    "Indices into targetCol's vector of the classes to explain, one vector of SHAP values each. Empty (the " +
      "default) and no targetClassesCol: the class with the highest score for the row."
  final val targetClassesCol = new StringParam(this, "targetClassesCol",
    "Column holding each row's classes to explain (an array of integers, or one integer); set it or " +
      "targetClasses, not both. Empty (the default): targetClasses for every row.")
  final val numSamples = new IntParam(this, "numSamples",
    "Coalitions evaluated per row, besides the empty and the full one; each costs one model evaluation per " +
      "background row. When all 2^M - 2 coalitions of the M features fit, all are evaluated and the values are " +
      "exact Shapley values. Unset: 2 M + 2048, as the shap package's 'auto'.", Validators.gtEq(1))
  final val seed = new LongParam(this, "seed",
    "Random seed of the coalition sampling. Each row's coalitions depend only on the seed and the row's input " +
      "value, so the same seed gives the same values whatever the partitioning.")
  final val metricsCol = new StringParam(this, "metricsCol",
    "Output column of the weighted R^2 of each target class's fit over the coalitions (a vector, in the order of " +
      "the target classes): 1 when the SHAP values account exactly for every evaluated coalition.",
    Validators.nonEmpty)

  final val maxBackgroundRows = new IntParam(this, "maxBackgroundRows",
    "Most background rows fit keeps (a seeded random sample when the data has more): every coalition of every " +
      "row is evaluated once per background row, so the cost grows with it (the shap package advises 100 or so).",
    Validators.gtEq(1))

  setDefault(outputCol -> "shapValues", targetClasses -> Array.empty[Int], maxBackgroundRows -> 100,
    targetClassesCol -> "", seed -> 0L, metricsCol -> "r2")

  def getTargetClassesCol: String = $(targetClassesCol)
  def setTargetClassesCol(value: String): this.type = set(targetClassesCol, value)
  def getNumSamples: Int = $(numSamples)
  def setNumSamples(value: Int): this.type = set(numSamples, value)
  def getSeed: Long = $(seed)
  def setSeed(value: Long): this.type = set(seed, value)
  def getMaxBackgroundRows: Int = $(maxBackgroundRows)
  def setMaxBackgroundRows(value: Int): this.type = set(maxBackgroundRows, value)
  def getMetricsCol: String = $(metricsCol)
  def setMetricsCol(value: String): this.type = set(metricsCol, value)

  /**
   * The background rows fit keeps: all of them in one job when there are at most maxBackgroundRows (background data
   * usually is that small), else a seeded sample of that many. None: an error naming the stage and `what` is wrong.
   */
  protected def keptBackground(rows: DataFrame, what: String): Array[Row] = {
    val first = rows.limit(getMaxBackgroundRows + 1).collect()
    if (first.isEmpty) throw new IllegalArgumentException(
      s"$uid: the background data (the dataset given to fit) $what; SHAP needs rows to take the absent features' " +
        "values from")
    if (first.length <= getMaxBackgroundRows) first
    else rows.sample(withReplacement = false, math.min(1.0, 1.5 * getMaxBackgroundRows / rows.count()), getSeed)
      .limit(getMaxBackgroundRows).collect()
  }

  /** The coalition budget for `features` features. */
  def coalitionBudget(features: Int): Int = get(numSamples).getOrElse(2 * features + 2048)

  /** The output columns' types; checks targetClassesCol. */
  protected def shapSchema(schema: StructType, stage: String): StructType = {
    if (getTargetClassesCol.nonEmpty && getTargetClasses.nonEmpty) throw new IllegalArgumentException(
      s"$stage: set targetClasses (${getTargetClasses.mkString("[", ", ", "]")}) or targetClassesCol " +
        s"('$getTargetClassesCol'), not both: one gives the same classes for every row, the other each row's")
    if (getTargetClassesCol.nonEmpty)
      Columns.requireType(schema, stage, getTargetClassesCol,
        "an array of integers or an integer (classes to explain)") {
        case ArrayType(t, _) => t == IntegerType || t == LongType || t == ShortType || t == ByteType
        case t => t == IntegerType || t == LongType || t == ShortType || t == ByteType
      }
    Columns.requireAbsent(schema, stage, getOutputCol)
    Columns.requireAbsent(schema, stage, getMetricsCol)
    if (getOutputCol == getMetricsCol)
      throw new IllegalArgumentException(s"$stage: outputCol and metricsCol are both '$getOutputCol'")
    schema.add(getOutputCol, ArrayType(VectorType, containsNull = false), nullable = true)
      .add(getMetricsCol, VectorType, nullable = true)
  }
}

/**
 * The distributed pass shared by the Kernel SHAP stages, on the pattern of [[LIMEEngine]]: every row's coalition
 * samples (each coalition once per background row) are generated next to it, the user's model scores all of them
 * in one `transform`, and the scores are grouped back by row, where the SHAP values are solved.
 */
private[lime] object SHAPEngine {
  val Id = "__shap_row"
  val Coalition = "__shap_coalition"
  val Background = "__shap_background"
  val State = "__shap_state"
  val Weight = "__shap_weight"
  val Score = "__shap_score"

  /** Coalition 0 is the row itself (one sample), 1 the empty coalition (the background), then the sampled ones. */
  private val Full = 0
  private val Empty = 1

  final case class SHAPFit(classes: Seq[Int], values: Seq[Vector], r2: Seq[Double])

  /**
   * One row to explain: its `size` features, those that can change the model's output (`varying`; the others get 0
   * and take part in no coalition), and `fill`, the model inputs (in `modelFields` order) of a coalition given as a
   * keep-mask over all features: one sample per background row, or one only where an absent feature has a fixed
   * replacement (a painted superpixel, a removed token).
   */
  final case class Masked(size: Int, varying: Array[Int], fill: Array[Boolean] => Iterator[Seq[Any]])

  /** Absent features take a background row's values, one sample per background row: TabularSHAP's, VectorSHAP's. */
  def againstBackground(background: IndexedSeq[IndexedSeq[Any]], assemble: IndexedSeq[Any] => Seq[Any])(
    x: IndexedSeq[Any]): Masked = {
    val m = x.length
    Masked(m, (0 until m).filter(j => background.exists(b => b(j) != x(j))).toArray,
      kept => background.iterator.map(b => assemble(IndexedSeq.tabulate(m)(j => if (kept(j)) x(j) else b(j)))))
  }

  /**
   * Fewer coalitions than features, not all of them: the M - 1 free values (the efficiency constraint gives the
   * last) would fit the coalitions' outputs exactly whatever the model does, and say nothing: refused, as the LIME
   * explainers refuse as many weights as samples. (ImageSHAP refuses such an image in its row instead: requireFewerThan.)
   */
  def requireDetermined(uid: String, features: Int, budget: Int): Unit =
    if (features >= 2 && !KernelSHAP.enumerable(features, budget) && budget < features)
      throw new IllegalArgumentException(
        s"$uid: $features features vary but numSamples is $budget: Kernel SHAP would fit ${features - 1} free values " +
          s"to $budget coalitions, which any model output fits exactly; raise numSamples above $features (unset, it " +
          "is 2 M + 2048, as the shap package's 'auto') or explain fewer features")

  /** Every feature varies, and a coalition is one sample: ImageSHAP's and TextSHAP's. */
  def replacing(size: Int)(fill: Array[Boolean] => Seq[Any]): Masked =
    Masked(size, Array.range(0, size), kept => Iterator.single(fill(kept)))

  /**
   * @param inputCols the columns `masked` reads, in order, as one Row
   * @param masked    the row to explain (None: the row is not explained, its outputs are null)
   */
  def explain(stage: SHAPParams, uid: String, dataset: Dataset[_], inputCols: Seq[String],
              modelFields: Seq[StructField], masked: Row => Option[Masked]): DataFrame = {
    val model = stage.getModel
    val (targetCol, seed0, perRow) = (stage.getTargetCol, stage.getSeed, stage.getTargetClassesCol.nonEmpty)
    val requested = if (perRow) Array.empty[Int] else stage.getTargetClasses
    val budget = stage.coalitionBudget _
    val base = dataset.toDF().withColumn(Id, xxhash64(inputCols.map(ColumnRef(_)): _*))
    val sampleSchema = StructType(Seq(StructField(Id, LongType, nullable = false),
      StructField(Coalition, IntegerType, nullable = false), StructField(Background, IntegerType, nullable = false),
      StructField(State, ArrayType(DoubleType, containsNull = false)),
      StructField(Weight, DoubleType, nullable = false)
    ) ++ modelFields)
    val samples = base.select((Id +: inputCols).map(ColumnRef(_)): _*).flatMap { r =>
      val id = r.getLong(0)
      masked(Row.fromSeq(r.toSeq.tail)) match {
        case None => Iterator.empty
        case Some(x) =>
          val b = budget(x.size)
          requireDetermined(uid, x.varying.length, b)
          rowSamples(id, x, b, LIMEEngine.rowSeed(seed0, id.hashCode))
      }
    }(Encoders.row(sampleSchema))

    val scored = model.transform(samples)
    val scoreColumn = stage.targetScores(scored, uid, "__shap")
    val grouped = scored
      .select(col(Id), struct(col(Coalition), col(Background), col(State), col(Weight), scoreColumn.as(Score)).as("s"))
      .groupBy(Id).agg(collect_list(col("s")).as("samples"))
    val fit = udf { (rows: Seq[Row]) => solveRow(rows, requested, perRow, targetCol, uid) }
    val fitted = grouped.select(col(Id), fit(col("samples")).as("fit"))
    val joined = base.join(fitted, Seq(Id), "left").drop(Id)
    val (out, metrics) = (stage.getOutputCol, stage.getMetricsCol)
    val r2Vector = udf((r2: Seq[Double]) => if (r2 == null) null else Vectors.dense(r2.toArray))
    if (!perRow)
      joined.withColumn(out, col("fit.values")).withColumn(metrics, r2Vector(col("fit.r2"))).drop("fit")
    else {
      val classesCol = stage.getTargetClassesCol
      val asArray =
        if (dataset.schema(classesCol).dataType.isInstanceOf[ArrayType]) ColumnRef(classesCol).cast("array<int>")
        else array(ColumnRef(classesCol).cast(IntegerType))
      val pick = udf { (fit: Row, wanted: Seq[java.lang.Integer]) =>
        if (fit == null || wanted == null) null
        else {
          val classes = fit.getSeq[Int](0)
          val picked = wanted.map { c =>
            if (c == null || c < 0 || c >= classes.length) throw new IllegalArgumentException(
              s"$uid: '$classesCol' holds class $c but '$targetCol' has ${classes.length} score(s) (classes 0 to " +
                s"${classes.length - 1})")
            c.intValue
          }
          (picked.map(fit.getSeq[Vector](1)(_)), Vectors.dense(picked.map(fit.getSeq[Double](2)(_)).toArray))
        }
      }
      joined.withColumn("__shap_pick", pick(col("fit"), asArray))
        .withColumn(out, col("__shap_pick._1")).withColumn(metrics, col("__shap_pick._2"))
        .drop("fit", "__shap_pick")
    }
  }

  /**
   * Coalition samples of one row: the full coalition once (its state marks the varying features, which solveRow
   * reads from it), the empty one and the sampled ones once per background row.
   */
  def rowSamples(id: Long, x: Masked, budget: Int, seed: Long): Iterator[Row] = {
    val (m, varying) = (x.size, x.varying)
    val coalitions =
      if (varying.length < 2) KernelSHAP.Coalitions(Array.empty, Array.empty)
      else KernelSHAP.coalitions(varying.length, budget, seed)
    def rows(coalition: Int, kept: Array[Boolean], weight: Double, state: Seq[Double]): Iterator[Row] =
      x.fill(kept).zipWithIndex.map { case (values, b) =>
        Row.fromSeq(Seq(id, coalition, b, if (b == 0) state else null, weight) ++ values)
      }
    def stateOf(kept: Array[Boolean]): Seq[Double] = kept.toSeq.map(k => if (k) 1.0 else 0.0)
    val varyingState = stateOf(Array.tabulate(m)(j => varying.contains(j)))
    val full = rows(Full, Array.fill(m)(true), 1.0, varyingState).take(1)
    val empty = rows(Empty, Array.fill(m)(false), 0.0, stateOf(Array.fill(m)(false)))
    val sampled = coalitions.masks.indices.iterator.flatMap { c =>
      val kept = Array.fill(m)(true)
      varying.indices.foreach(k => kept(varying(k)) = coalitions.masks(c)(k))
      rows(c + 2, kept, coalitions.weights(c), stateOf(kept))
    }
    full ++ empty ++ sampled
  }

  def solveRow(rows: Seq[Row], requested: Array[Int], allClasses: Boolean, targetCol: String,
               uid: String): SHAPFit = {
    // Rows with equal inputs share an id (and their samples): keep one sample per (coalition, background row).
    val unique = rows.groupBy(r => (r.getInt(0), r.getInt(1))).values.map(_.head).toSeq
    val byCoalition = unique.groupBy(_.getInt(0))
    def scores(r: Row): Array[Double] = {
      val s = r.getSeq[java.lang.Double](4)
      if (s == null || s.exists(_ == null)) throw new IllegalArgumentException(
        s"$uid: the model gave a null score in '$targetCol' for a coalition sample; SHAP needs a score for every sample")
      s.map(_.doubleValue).toArray
    }
    val fx = scores(byCoalition(Full).head)
    val width = fx.length
    def mean(c: Int): Array[Double] = {
      val all = byCoalition(c).map(scores)
      if (all.exists(_.length != width)) throw new IllegalArgumentException(
        s"$uid: '$targetCol' holds vectors of different sizes for the samples of one row")
      Array.tabulate(width)(k => all.map(_(k)).sum / all.length)
    }
    val f0 = mean(Empty)
    val varying = byCoalition(Full).head.getSeq[Double](2).toArray.zipWithIndex.filter(_._1 > 0).map(_._2)
    val m = byCoalition(Full).head.getSeq[Double](2).length
    val sampled = byCoalition.keys.filter(_ > Empty).toArray.sorted
    val stateOf = sampled.map(c => byCoalition(c).find(_.getInt(1) == 0).get)
    val masks = stateOf.map(r => varying.map(j => r.getSeq[Double](2)(j) > 0))
    val weights = stateOf.map(_.getDouble(3))
    val ey = sampled.map(mean)
    val classes =
      if (allClasses) (0 until width).toArray
      else if (requested.nonEmpty) requested
      else Array(fx.indices.maxBy(fx(_)))
    classes.foreach { c =>
      if (c >= width) throw new IllegalArgumentException(
        s"$uid: targetClasses holds $c but '$targetCol' has only $width score(s) (classes 0 to ${width - 1})")
    }
    val solutions = classes.toSeq.map { c =>
      val s = KernelSHAP.solve(if (varying.length < 2) Array.fill(1)(Array.fill(varying.length)(true)) else masks,
        if (varying.length < 2) Array(1.0) else weights, if (varying.length < 2) Array(fx(c)) else ey.map(_(c)),
        fx(c), f0(c))
      val phi = new Array[Double](m)
      varying.indices.foreach(k => phi(varying(k)) = s.values(k))
      (Vectors.dense(f0(c) +: phi), s.r2)
    }
    SHAPFit(classes.toSeq, solutions.map(_._1), solutions.map(_._2))
  }
}
