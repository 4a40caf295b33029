package irbis.train

import java.util.concurrent.{Callable, Executors}

import scala.jdk.CollectionConverters._

import irbis.core._
import org.apache.spark.ml.{Estimator, Model, PipelineStage, Transformer}
import org.apache.spark.ml.param._
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row, SparkSession}
import org.apache.spark.sql.functions._
import org.apache.spark.sql.types._
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

/** One candidate: the index of an estimator in `models` and the param values to fit it with. */
private[train] case class Candidate(modelIndex: Int, params: ParamMap, json: String)

/**
 * The parameter space, a JSON object keyed by a model's index in `models` ("0", "1", ...) or its uid; each
 * value maps param names to `{"grid": [v1, v2, ...]}` (values in the param's own JSON) or to `{"random":
 * {"min": a, "max": b, "type": "int" | "double" | "log"}}` (uniform; "log" is uniform in log space) or
 * `{"random": {"values": [v1, ...]}}` (uniform choice). Grid search takes the cartesian product of the grids;
 * random search draws numRuns maps per model (grids are drawn from uniformly).
 */
private[train] object ParamSpace {
  sealed trait Dim
  case class Grid(values: Seq[Any]) extends Dim
  case class Range(min: Double, max: Double, kind: String) extends Dim

  def parse(json: String, models: Array[PipelineStage], stage: String): Seq[Map[Param[Any], Dim]] = {
    val top = scala.util.Try(org.json4s.jackson.JsonMethods.parse(json)).toOption match {
      case Some(JObject(fields)) => fields
      case _ => throw new IllegalArgumentException(
          s"$stage: paramSpace must be a JSON object keyed by model index or uid, e.g. " +
            """{"0": {"regParam": {"grid": [0.01, 0.1]}}}; got: """ + json)
    }
    val byIndex = top.map { case (key, spec) =>
      val i = models.indices.find(i => key == i.toString || key == models(i).uid || learnerUid(models(i)).contains(key))
        .getOrElse(throw new IllegalArgumentException(s"$stage: paramSpace key '$key' is neither a model index " +
            s"(0 to ${models.length - 1}) nor the uid of a model or of its learner " +
            s"(${models.map(m => (m.uid +: learnerUid(m).toSeq).mkString("/")).mkString(", ")})"))
      i -> (key, spec)
    }
    byIndex.groupBy(_._1).foreach { case (i, xs) =>
      if (xs.size > 1) throw new IllegalArgumentException(
        s"$stage: paramSpace describes model $i twice (keys ${xs.map(_._2._1).mkString(", ")})")
    }
    models.indices.map { i =>
      byIndex.find(_._1 == i).map { case (_, (key, spec)) =>
        val target = if (learnerUid(models(i)).contains(key)) models(i).asInstanceOf[HasLearner].getModel else models(i)
        dims(target, key, spec, stage)
      }.getOrElse(Map.empty)
    }
  }

  /** The uid of a TrainClassifier's or TrainRegressor's learner: SynapseML's HyperparamBuilder keys by it. */
  private def learnerUid(model: PipelineStage): Option[String] = model match {
    case t: HasLearner if t.isSet(t.model) => Some(t.getModel.uid)
    case _ => None
  }

  /** `estimator` fitted with `params`, which belong to it or (keyed by its uid) to its learner. */
  def fit(estimator: Estimator[_], params: ParamMap, df: DataFrame): Transformer = estimator match {
    case t: HasLearner if learnerUid(t).exists(l => params.toSeq.exists(_.param.parent == l)) =>
      t.copy(ParamMap(t.model -> t.getModel.copy(params))).asInstanceOf[Estimator[_]].fit(df).asInstanceOf[Transformer]
    case e => e.fit(df, params).asInstanceOf[Transformer]
  }

  private def dims(model: PipelineStage, key: String, spec: JValue, stage: String): Map[Param[Any], Dim] = {
    val fields = spec match {
      case JObject(fs) => fs
      case other => throw new IllegalArgumentException(
          s"$stage: paramSpace['$key'] must be an object of param name -> {grid: [...]} or {random: {...}}, " +
            s"got ${compact(render(other))}")
    }
    fields.map { case (name, dim) =>
      val where = s"$stage: paramSpace['$key'].$name"
      if (!model.hasParam(name)) throw new IllegalArgumentException(
        s"$where: ${model.getClass.getSimpleName} has no param '$name'; its params: ${model.params.map(_.name).mkString(", ")}")
      val p = model.getParam(name).asInstanceOf[Param[Any]]
      val d: Dim = dim match {
        case JObject(List(("grid", JArray(values)))) if values.nonEmpty => Grid(values.map(decode(p, _, where)))
        case JObject(List(("random", JObject(r)))) =>
          val m = r.toMap
          m.get("values") match {
            case Some(JArray(values)) if values.nonEmpty => Grid(values.map(decode(p, _, where)))
            case _ =>
              def num(n: String) = m.get(n) match {
                case Some(JDouble(x)) => x
                case Some(JInt(x)) => x.toDouble
                case Some(JLong(x)) => x.toDouble
                case _ => throw new IllegalArgumentException(s"$where: a random range needs numbers 'min' and 'max'")
              }
              val kind = m.get("type") match {
                case Some(JString(t)) if Seq("int", "double", "log").contains(t) => t
                case None => "double"
                case Some(other) => throw new IllegalArgumentException(
                    s"$where: random 'type' must be \"int\", \"double\" or \"log\", got ${compact(render(other))}")
              }
              val (lo, hi) = (num("min"), num("max"))
              if (!(lo <= hi) || (kind == "log" && lo <= 0)) throw new IllegalArgumentException(
                s"$where: a random range needs min <= max (and min > 0 for type log), got min $lo, max $hi")
              Range(lo, hi, kind)
          }
        case other => throw new IllegalArgumentException(
            s"$where: expected {\"grid\": [values...]} or {\"random\": {\"min\": a, \"max\": b, \"type\": \"int\"|" +
              "\"double\"|\"log\"}} or {\"random\": {\"values\": [...]}}, got " + compact(render(other)))
      }
      (p, d)
    }.toMap
  }

  /** A JSON value as the param's value, through its own codec (numbers adapt to int or double params). */
  def decode(p: Param[Any], v: JValue, where: String): Any = {
    val adapted = (p: Param[_], v) match {
      case (_: DoubleParam | _: FloatParam, JInt(i)) => JDouble(i.toDouble)
      case (_: IntParam | _: LongParam, JDouble(d)) if d == math.rint(d) => JInt(BigInt(d.toLong))
      case _ => v
    }
    val value = try p.jsonDecode(compact(render(adapted)))
    catch {
      case e: Exception => throw new IllegalArgumentException(
          s"$where: cannot read ${compact(render(v))} as a value of this param: ${e.getMessage}", e)
    }
    if (!p.isValid(value)) throw new IllegalArgumentException(
      s"$where: ${compact(render(v))} is not a valid value: ${p.doc}")
    value
  }

  def draw(p: Param[Any], d: Dim, rnd: java.util.Random, where: String): Any = d match {
    case Grid(values) => values(rnd.nextInt(values.size))
    case Range(lo, hi, kind) =>
      val x = kind match {
        case "int" => JInt(BigInt(
              lo.ceil.toLong + (rnd.nextDouble() * (hi.floor - lo.ceil + 1)).toLong.min((hi.floor - lo.ceil).toLong)))
        case "log" => JDouble(math.exp(math.log(lo) + rnd.nextDouble() * (math.log(hi) - math.log(lo))))
        case _ => JDouble(lo + rnd.nextDouble() * (hi - lo))
      }
      decode(p, x, where)
  }

  def candidates(space: Seq[Map[Param[Any], Dim]], mode: String, numRuns: Int, seed: Long,
                 stage: String): Seq[Candidate] = {
    val rnd = new java.util.Random(seed)
    def toJson(values: Seq[(Param[Any], Any)]): String =
      compact(render(JObject(values.sortBy(_._1.name).map { case (p, v) =>
        JField(p.name, org.json4s.jackson.JsonMethods.parse(p.jsonEncode(v)))
      }.toList)))
    space.zipWithIndex.flatMap { case (dims, i) =>
      val ordered = dims.toSeq.sortBy(_._1.name)
      val maps: Seq[Seq[(Param[Any], Any)]] = mode match {
        case "grid" =>
          ordered.foldLeft(Seq(Seq.empty[(Param[Any], Any)])) { case (acc, (p, d)) =>
            d match {
              case Grid(values) => for (a <- acc; v <- values) yield a :+ ((p, v))
              case _ => throw new IllegalArgumentException(
                  s"$stage: paramSpace of model $i: ${p.name} is a random range; use searchMode 'random' " +
                    "(with numRuns), or list its values with {\"grid\": [...]}")
            }
          }
        case _ =>
          if (ordered.isEmpty) Seq(Seq.empty)
          else Seq.fill(numRuns)(ordered.map { case (p, d) => (p, draw(p, d, rnd, s"$stage: model $i, ${p.name}")) })
      }
      maps.map { values =>
        val pm = ParamMap.empty
        values.foreach { case (p, v) => pm.put(p, v) }
        Candidate(i, pm, toJson(values))
      }
    }
  }
}

class TuneHyperparameters(override val uid: String) extends Estimator[TuneHyperparametersModel]
  with IrbisStage with HasSelectionMetric {
  def this() = this(Identifiable.randomUID("TuneHyperparameters"))

  override def stageDoc: String =
    "Searches the param space of one or more estimators with k-fold cross-validation (folds are deterministic " +
      "for a seed, stratified by label for classification metrics), fitting candidates in parallel, and refits " +
      "the best candidate on all the data. The fitted model transforms like the best model and holds the " +
      "table of every candidate tried (model, params, mean metric over the folds, metric per fold)."

  final val models = new StageArrayParam(this, "models",
    "The estimators to tune; each fitted model must output scored data.",
    (a: Array[PipelineStage]) => a != null && a.nonEmpty && a.forall(_.isInstanceOf[Estimator[_]]))
  def getModels: Array[PipelineStage] = $(models)
  def setModels(value: Array[PipelineStage]): this.type = set(models, value)

  final val paramSpace = new StringParam(this, "paramSpace",
    "A JSON object keyed by model index (\"0\", \"1\", ...) or uid (a TrainClassifier's or TrainRegressor's, or " +
      "its learner's); each value maps param names to " +
      "{\"grid\": [values]} or {\"random\": {\"min\": a, \"max\": b, \"type\": \"int\"|\"double\"|\"log\"}} or " +
      "{\"random\": {\"values\": [...]}}. A model without an entry is tried once with its own params.")
  setDefault(paramSpace -> "{}")
  def getParamSpace: String = $(paramSpace)
  def setParamSpace(value: String): this.type = set(paramSpace, value)

  final val searchMode = new EnumParam(this, "searchMode",
    "'grid': every combination of the grids; 'random': numRuns draws per model.", Seq("grid", "random"))
  setDefault(searchMode -> "grid")
  def getSearchMode: String = $(searchMode)
  def setSearchMode(value: String): this.type = set(searchMode, value)

  final val numRuns = new IntParam(this, "numRuns", "Random search: param maps drawn per model.", Validators.gtEq(1))
  setDefault(numRuns -> 10)
  def getNumRuns: Int = $(numRuns)
  def setNumRuns(value: Int): this.type = set(numRuns, value)

  final val numFolds = new IntParam(this, "numFolds", "Number of cross-validation folds.", Validators.gtEq(2))
  setDefault(numFolds -> 3)
  def getNumFolds: Int = $(numFolds)
  def setNumFolds(value: Int): this.type = set(numFolds, value)

  final val parallelism = new IntParam(this, "parallelism",
    "How many (candidate, fold) fits run at the same time, from driver threads.", Validators.gtEq(1))
  setDefault(parallelism -> 1)
  def getParallelism: Int = $(parallelism)
  def setParallelism(value: Int): this.type = set(parallelism, value)

  final val seed = new LongParam(this, "seed", "Seed of the fold assignment and of random search.")
  setDefault(seed -> 0L)
  def getSeed: Long = $(seed)
  def setSeed(value: Long): this.type = set(seed, value)

  override def transformSchema(schema: StructType): StructType = {
    require(isDefined(models), s"$uid: set models (the estimators to tune)")
    getModels.head.transformSchema(schema)
  }

  /**
   * The data with an int column `fold` (0 to numFolds - 1). Rows are ordered by a seeded hash of their
   * content (by label first for classification metrics, which stratifies) and dealt to the folds in turn, so
   * the folds depend only on the data and the seed, not on its partitioning.
   */
  def assignFolds(dataset: Dataset[_]): DataFrame = {
    val df = dataset.toDF()
    Columns.requireAbsent(df.schema, uid, "fold")
    val hashable = df.schema.fields.filterNot(f => containsMap(f.dataType)).map(f => ColumnRef(f.name))
    val keyed = df.withColumn("__irbis_hash", xxhash64((lit(getSeed) +: hashable.toIndexedSeq): _*))
    val order = if (isRegressionMetric) Seq(col("__irbis_hash"))
    else Seq(ColumnRef(stratifiedBy).asc_nulls_first, col("__irbis_hash"))
    if (!isRegressionMetric) Columns.require(df.schema, uid, stratifiedBy)
    val sorted = keyed.orderBy(order: _*).drop("__irbis_hash")
    val k = getNumFolds
    val rows = sorted.rdd.zipWithIndex().map { case (r, i) => Row.fromSeq(r.toSeq :+ (i % k).toInt) }
    df.sparkSession.createDataFrame(rows, sorted.schema.add("fold", IntegerType, nullable = false))
  }

  /**
   * labelCol when set, else the one label of the TrainClassifier or TrainRegressor models (SynapseML's
   * TuneHyperparameters has no labelCol: its examples set it on the models only), else labelCol's default.
   */
  private def stratifiedBy: String =
    get(models).toSeq.flatten.collect { case t: TrainParams => t.getLabelCol }.distinct match {
      case Seq(label) if !isSet(labelCol) => label
      case _ => getLabelCol
    }

  private def containsMap(t: DataType): Boolean = t match {
    case _: MapType => true
    case a: ArrayType => containsMap(a.elementType)
    case s: StructType => s.fields.exists(f => containsMap(f.dataType))
    case _ => false
  }

  override def fit(dataset: Dataset[_]): TuneHyperparametersModel = {
    require(isDefined(models), s"$uid: set models (the estimators to tune)")
    val estimators = getModels.map(_.asInstanceOf[Estimator[_]])
    val space = ParamSpace.parse(getParamSpace, getModels, uid)
    val candidates = ParamSpace.candidates(space, getSearchMode, getNumRuns, getSeed, uid)
    val df = dataset.toDF()
    val folded = assignFolds(df).persist()
    val k = getNumFolds
    try {
      val counts = folded.groupBy("fold").count().collect().map(r => r.getInt(0) -> r.getLong(1)).toMap
      (0 until k).find(f => counts.getOrElse(f, 0L) == 0L).foreach { f =>
        throw new IllegalArgumentException(
          s"$uid: fold $f is empty: the data has ${counts.values.sum} rows, fewer than numFolds = $k")
      }
      val pool = Executors.newFixedThreadPool(getParallelism)
      val metric = getEvaluationMetric
      val tasks = for (c <- candidates; f <- 0 until k) yield new Callable[Double] {
        override def call(): Double = {
          val train = folded.where(col("fold") =!= f).drop("fold")
          val test = folded.where(col("fold") === f).drop("fold")
          val model = ParamSpace.fit(estimators(c.modelIndex), c.params, train)
          evaluate(model.transform(test)).toMap.apply(metric)
        }
      }
      val perFold = try pool.invokeAll(tasks.asJava).asScala.map(_.get()).toArray
      finally pool.shutdown()
      val foldMetrics = candidates.indices.map(i => perFold.slice(i * k, (i + 1) * k)).toArray
      val means = foldMetrics.map(m => m.sum / m.length)
      val best = ModelSelection.best(metric, means.toSeq)
      val chosen = candidates(best)
      val bestModel = ParamSpace.fit(estimators(chosen.modelIndex), chosen.params, df)
      val model = new TuneHyperparametersModel(uid + "_model")
        .setBestModel(bestModel)
        .setBestIndex(best)
        .setCandidateModels(candidates.map(_.modelIndex).toArray)
        .setModelNames(getModels.map(ModelSelection.describe))
        .setCandidateParams(candidates.map(_.json).toArray)
        .setMetricValues(means)
        .setFoldMetrics(foldMetrics)
      copyValues(model).setParent(this)
    } finally folded.unpersist()
  }

  override def copy(extra: ParamMap): TuneHyperparameters = defaultCopy[TuneHyperparameters](extra)
}

object TuneHyperparameters extends IrbisReadable[TuneHyperparameters]

class TuneHyperparametersModel(override val uid: String) extends Model[TuneHyperparametersModel]
  with IrbisStage with HasSelectionMetric {
  def this() = this(Identifiable.randomUID("TuneHyperparametersModel"))

  override def stageDoc: String =
    "The best model TuneHyperparameters found, refitted on all the data; getResults lists every candidate."

  final val bestModel = new StageParam[Transformer](this, "bestModel", "The best candidate, fitted on all the data.")
  def getBestModel: Transformer = $(bestModel)
  def setBestModel(value: Transformer): this.type = set(bestModel, value)

  final val bestIndex = new IntParam(this, "bestIndex", "The row of the best candidate in the results.")
  def getBestIndex: Int = $(bestIndex)
  def setBestIndex(value: Int): this.type = set(bestIndex, value)

  final val candidateModels = new IntArrayParam(this, "candidateModels", "Per candidate: its model's index in models.")
  def getCandidateModels: Array[Int] = $(candidateModels)
  def setCandidateModels(value: Array[Int]): this.type = set(candidateModels, value)

  final val modelNames = new StringArrayParam(this, "modelNames", "Each tuned model: class (uid), in order.")
  def getModelNames: Array[String] = $(modelNames)
  def setModelNames(value: Array[String]): this.type = set(modelNames, value)

  final val candidateParams = new StringArrayParam(this, "candidateParams",
    "Per candidate: the param values tried, as a JSON object in each param's own JSON.")
  def getCandidateParams: Array[String] = $(candidateParams)
  def setCandidateParams(value: Array[String]): this.type = set(candidateParams, value)

  final val metricValues = new DoubleArrayParam(this, "metricValues", "Per candidate: the mean metric over the folds.")
  def getMetricValues: Array[Double] = $(metricValues)
  def setMetricValues(value: Array[Double]): this.type = set(metricValues, value)

  final val foldMetrics = new DoubleArrayArrayParam(this, "foldMetrics", "Per candidate: the metric of each fold.")
  def getFoldMetrics: Array[Array[Double]] = $(foldMetrics)
  def setFoldMetrics(value: Array[Array[Double]]): this.type = set(foldMetrics, value)

  /** One row per candidate: model_index, model, params (JSON), metric (mean over folds), fold_metrics. */
  def getResults: DataFrame = {
    val schema = StructType(Seq(StructField("model_index", IntegerType, nullable = false),
        StructField("model", StringType, nullable = false), StructField("params", StringType, nullable = false),
        StructField("metric", DoubleType, nullable = false),
        StructField("fold_metrics", ArrayType(DoubleType, containsNull = false), nullable = false)))
    val rows = getCandidateModels.indices.map { i =>
      Row(getCandidateModels(i), getModelNames(getCandidateModels(i)), getCandidateParams(i), getMetricValues(i),
        getFoldMetrics(i).toSeq)
    }
    SparkSession.active.createDataFrame(rows.asJava, schema)
  }

  override def transformSchema(schema: StructType): StructType = getBestModel.transformSchema(schema)
  override def transform(dataset: Dataset[_]): DataFrame = getBestModel.transform(dataset)

  override def copy(extra: ParamMap): TuneHyperparametersModel =
    copyValues(new TuneHyperparametersModel(uid), extra).setParent(parent)
}

object TuneHyperparametersModel extends IrbisReadable[TuneHyperparametersModel]
