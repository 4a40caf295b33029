package irbis.lime

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.linalg.{Vector, Vectors}
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.ml.param.{IntArrayParam, IntParam, LongParam, ParamMap, StringArrayParam}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{Column, DataFrame, Dataset, Row}
import org.apache.spark.sql.functions._
import org.apache.spark.sql.types._
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

/** One explained feature, parsed from an entry of numericFeatures or categoricalFeatures. */
private[lime] sealed trait ICEFeature {
  def name: String
  def outputColName: Option[String]
  def outputCol: String = outputColName.getOrElse(name + "_dependence")
}

private[lime] final case class ICENumericFeature(name: String, numSplits: Option[Int], rangeMin: Option[Double],
                                                 rangeMax: Option[Double], outputColName: Option[String])
  extends ICEFeature

private[lime] final case class ICECategoricalFeature(name: String, numTopValues: Option[Int],
                                                     outputColName: Option[String])
  extends ICEFeature

private[lime] object ICEFeature {
  val DefaultNumTopValues = 100
  private val numericKeys = Set("name", "numSplits", "rangeMin", "rangeMax", "outputColName")
  private val categoricalKeys = Set("name", "numTopValues", "outputColName")

  /** An entry is a column name, or a JSON object with "name" and optional settings (SynapseML's dicts). */
  def parseEntry(entry: String, param: String, numeric: Boolean): ICEFeature = {
    if (entry == null || entry.trim.isEmpty)
      throw new IllegalArgumentException(s"$param: an entry is empty; give a column name or a JSON object")
    if (!entry.trim.startsWith("{"))
      return if (numeric) ICENumericFeature(entry, None, None, None, None)
      else ICECategoricalFeature(entry, None, None)
    val fields = (try parse(entry)
    catch {
      case e: Exception =>
        throw new IllegalArgumentException(s"$param: entry $entry is not valid JSON: ${e.getMessage}")
    }) match {
      case JObject(fs) => fs.toMap
      case _ => throw new IllegalArgumentException(s"$param: entry $entry is not a JSON object")
    }
    val allowed = if (numeric) numericKeys else categoricalKeys
    val unknown = fields.keys.filterNot(allowed.contains).toSeq.sorted
    if (unknown.nonEmpty) throw new IllegalArgumentException(
      s"$param: entry $entry has unknown key(s) ${unknown.mkString(", ")}; allowed: ${allowed.toSeq.sorted.mkString(", ")}")
    def str(k: String): Option[String] = fields.get(k).map {
      case JString(s) if s.nonEmpty => s
      case other => throw new IllegalArgumentException(
          s"$param: '$k' of entry $entry must be a non-empty string, got ${compact(render(other))}")
    }
    def num(k: String): Option[Double] = fields.get(k).map {
      case JDouble(d) => d
      case JInt(i) => i.toDouble
      case JLong(l) => l.toDouble
      case JDecimal(d) => d.toDouble
      case other => throw new IllegalArgumentException(
          s"$param: '$k' of entry $entry must be a number, got ${compact(render(other))}")
    }
    def positiveInt(k: String): Option[Int] = num(k).map { d =>
      if (!d.isWhole || d < 1 || d > Int.MaxValue) throw new IllegalArgumentException(
        s"$param: '$k' of entry $entry must be a positive integer, got $d")
      d.toInt
    }
    val name = str("name").getOrElse(throw new IllegalArgumentException(s"$param: entry $entry has no \"name\""))
    if (numeric) {
      val (lo, hi) = (num("rangeMin"), num("rangeMax"))
      for (a <- lo; b <- hi if !(a <= b)) throw new IllegalArgumentException(
        s"$param: feature '$name' has rangeMin $a above rangeMax $b")
      ICENumericFeature(name, positiveInt("numSplits"), lo, hi, str("outputColName"))
    } else ICECategoricalFeature(name, positiveInt("numTopValues"), str("outputColName"))
  }

  /** The validator of the two feature Params: it throws with the entry and the problem named. */
  def validator(param: String, numeric: Boolean): Array[String] => Boolean = { entries =>
    entries != null && { entries.foreach(parseEntry(_, param, numeric)); true }
  }
}

/**
 * Individual conditional expectation (ICE) and partial dependence (PD), as SynapseML's ICETransformer. For each
 * explained feature a grid of values is chosen from the data; every (sampled) row is scored by the model once per
 * grid value with the feature set to that value, all rows and grid values of all features in one distributed
 * `transform` of the model.
 */
class ICETransformer(override val uid: String) extends Transformer with IrbisStage with ExplainerParams {
  def this() = this(Identifiable.randomUID("ICETransformer"))

  override def stageDoc: String =
    "Individual conditional expectation (kind 'individual') and partial dependence (kind 'average') of a model's " +
      "output on single features, as SynapseML's ICETransformer. Each numeric feature is set in turn to numSplits+1 " +
      "evenly spaced values from its minimum to its maximum in the data (or rangeMin/rangeMax; integer columns: " +
      "those values rounded, without repeats), each categorical feature to its numTopValues most frequent values; " +
      "the model scores every row once per value (one distributed pass over all rows and values). 'individual' " +
      "adds to each row one column per feature, <name>_dependence: a map from the feature value to the vector of " +
      "the target classes' scores; 'average' returns one row with the same columns holding the means over the " +
      "rows (scikit-learn's partial_dependence); 'feature' returns a row per feature with a PD-based importance."

  override protected def modelDoc: String =
    "The fitted model to explain: any Transformer, such as a PipelineModel or an ONNXModel, that keeps its input " +
      "columns and adds targetCol."
  override protected def targetColDoc: String =
    "The model's output column to explain: a vector (e.g. 'probability'), an array of numbers or a number (e.g. " +
      "a regression's 'prediction')."
  override protected def targetClassesDoc: String =
    "Indices into targetCol's vector or array of the classes to explain; each output value is a vector of their " +
      "scores in this order. Ignored when targetCol holds a number."
  override protected def targetClassesValid: Array[Int] => Boolean =
    (a: Array[Int]) => a != null && a.nonEmpty && a.forall(_ >= 0)
  final val kind = new EnumParam(this, "kind",
    "'individual': per row, the model's target for each value of each feature (ICE); 'average': their mean " +
      "over the rows, one row (partial dependence); 'feature': one row per feature with the standard deviation " +
      "(numeric) or the range / 4 (categorical) of its partial dependence over its values.",
    Seq("individual", "average", "feature"))
  final val numSplits = new IntParam(this, "numSplits",
    "Intervals of the grid of a numeric feature that sets no numSplits of its own: numSplits+1 values.",
    Validators.gtEq(1))
  final val numericFeatures = new StringArrayParam(this, "numericFeatures",
    "The numeric features to explain: column names, or JSON objects such as {\"name\": \"age\", \"numSplits\": " +
      "20, \"rangeMin\": 18, \"rangeMax\": 90, \"outputColName\": \"age_ice\"} (all keys but name optional; " +
      "the range defaults to the column's minimum and maximum in the data). From Python, dicts work too.",
    ICEFeature.validator("numericFeatures", numeric = true))
  final val categoricalFeatures = new StringArrayParam(this, "categoricalFeatures",
    "The categorical features to explain (columns of strings, booleans or numbers): column names, or JSON objects " +
      "such as {\"name\": \"colour\", \"numTopValues\": 10, \"outputColName\": \"colour_ice\"}; their values are " +
      s"the numTopValues (default ${ICEFeature.DefaultNumTopValues}) most frequent non-null values in the data " +
      "(ties: the smaller value first). From Python, dicts work too.",
    ICEFeature.validator("categoricalFeatures", numeric = false))
  final val numSamples = new IntParam(this, "numSamples",
    "Rows explained (and averaged): a random sample of this many rows of the input (see seed); unset: every row. " +
      "The grids are always taken from every row.", Validators.gtEq(1))
  final val seed = new LongParam(this, "seed", "Random seed of the row sample that numSamples asks for.")
  final val featureNameCol = new StringParam(this, "featureNameCol",
    "Kind 'feature': the output column of the feature names.", Validators.nonEmpty)
  final val dependenceNameCol = new StringParam(this, "dependenceNameCol",
    "Kind 'feature': the output column of the importances (a vector, one value per target class).",
    Validators.nonEmpty)

  setDefault(targetClasses -> Array(0), kind -> "individual", numSplits -> 10,
    numericFeatures -> Array.empty[String], categoricalFeatures -> Array.empty[String], seed -> 0L,
    featureNameCol -> "featureNames", dependenceNameCol -> "pdpBasedDependence")

  def getKind: String = $(kind)
  def setKind(value: String): this.type = set(kind, value)
  def getNumSplits: Int = $(numSplits)
  def setNumSplits(value: Int): this.type = set(numSplits, value)
  def getNumericFeatures: Array[String] = $(numericFeatures)
  def setNumericFeatures(value: Array[String]): this.type = set(numericFeatures, value)
  def getCategoricalFeatures: Array[String] = $(categoricalFeatures)
  def setCategoricalFeatures(value: Array[String]): this.type = set(categoricalFeatures, value)
  def getNumSamples: Int = $(numSamples)
  def setNumSamples(value: Int): this.type = set(numSamples, value)
  def getSeed: Long = $(seed)
  def setSeed(value: Long): this.type = set(seed, value)
  def getFeatureNameCol: String = $(featureNameCol)
  def setFeatureNameCol(value: String): this.type = set(featureNameCol, value)
  def getDependenceNameCol: String = $(dependenceNameCol)
  def setDependenceNameCol(value: String): this.type = set(dependenceNameCol, value)

  private def features: Seq[ICEFeature] =
    getNumericFeatures.toSeq.map(ICEFeature.parseEntry(_, "numericFeatures", numeric = true)) ++
      getCategoricalFeatures.toSeq.map(ICEFeature.parseEntry(_, "categoricalFeatures", numeric = false))

  private def checkFeatures(schema: StructType): Seq[(ICEFeature, StructField)] = {
    val fs = features
    if (fs.isEmpty) throw new IllegalArgumentException(
      s"$uid: no features to explain; set numericFeatures and/or categoricalFeatures")
    val repeated = fs.groupBy(_.name).collect { case (n, xs) if xs.length > 1 => n }.toSeq.sorted
    if (repeated.nonEmpty) throw new IllegalArgumentException(
      s"$uid: feature(s) ${repeated.mkString(", ")} listed more than once in numericFeatures/categoricalFeatures")
    val outs = fs.groupBy(_.outputCol).collect { case (n, xs) if xs.length > 1 => n }.toSeq.sorted
    if (outs.nonEmpty) throw new IllegalArgumentException(s"$uid: output column(s) ${outs.mkString(", ")} used twice")
    fs.map {
      case f: ICENumericFeature =>
        f -> Columns.requireType(schema, uid, f.name,
          "a number (a numeric feature; list it in categoricalFeatures if it is categorical)")(Columns.isNumeric)
      case f: ICECategoricalFeature =>
        f -> Columns.requireType(schema, uid, f.name, "a string, boolean or number (a categorical feature)")(t =>
          Columns.isNumeric(t) || t == StringType || t == BooleanType)
    }
  }

  override def transformSchema(schema: StructType): StructType = {
    val fs = checkFeatures(schema)
    getKind match {
      case "feature" =>
        StructType(Seq(StructField(getFeatureNameCol, StringType, nullable = false),
            StructField(getDependenceNameCol, VectorType, nullable = true)))
      case k =>
        val columns = fs.map { case (f, field) =>
          StructField(f.outputCol, MapType(field.dataType, VectorType, valueContainsNull = true), nullable = true)
        }
        if (k == "average") StructType(columns)
        else {
          columns.foreach(c => Columns.requireAbsent(schema, uid, c.name))
          StructType(schema.fields ++ columns)
        }
    }
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    val scorer = requireModel(uid)
    val df = dataset.toDF()
    val fs = checkFeatures(df.schema)
    // The data ranges that the numeric grids need, all in one pass over the data.
    val unranged = fs.collect { case (f: ICENumericFeature, _) if f.rangeMin.isEmpty || f.rangeMax.isEmpty => f.name }
    val ranges: Map[String, Option[(Double, Double)]] = if (unranged.isEmpty) Map.empty
    else {
      val aggs = unranged.flatMap(n => Seq(min(ColumnRef(n)).cast(DoubleType), max(ColumnRef(n)).cast(DoubleType)))
      val r = df.agg(aggs.head, aggs.tail: _*).head()
      unranged.zipWithIndex.map { case (n, i) =>
        n -> (if (r.isNullAt(2 * i)) None else Some((r.getDouble(2 * i), r.getDouble(2 * i + 1))))
      }.toMap
    }
    val grids: Seq[Array[Any]] = fs.map { case (f, field) =>
      ICETransformer.grid(uid, df, f, field, getNumSplits, ranges.getOrElse(f.name, None))
    }
    val p = Columns.internalPrefix("ice")
    val (id, fCol, gCol, tCol) = (p + "row", p + "feature", p + "value", p + "target")
    val sampled = get(numSamples).map(n => df.orderBy(rand(getSeed)).limit(n)).getOrElse(df)
    val base = sampled.withColumn(id, monotonically_increasing_id())
    val keep = getKind == "individual"
    val originals = fs.indices.map(k => p + "orig" + k)
    val withOrig = if (keep) originals.zip(fs).foldLeft(base) { case (d, (o, (f, _))) =>
      d.withColumn(o, ColumnRef(f.name))
    }
    else base
    val pairs = for (k <- fs.indices; g <- grids(k).indices) yield struct(lit(k).as("f"), lit(g).as("g"))
    val exploded = withOrig.withColumn(p + "pair", explode(array(pairs: _*)))
      .withColumn(fCol, col(p + "pair.f")).withColumn(gCol, col(p + "pair.g")).drop(p + "pair")
    val replaced = fs.zipWithIndex.foldLeft(exploded) { case (d, ((f, field), k)) =>
      val values = array(grids(k).toIndexedSeq.map(lit): _*).cast(ArrayType(field.dataType))
      d.withColumn(f.name, when(col(fCol) === k, element_at(values, col(gCol) + 1)).otherwise(ColumnRef(f.name)))
    }
    val scored = scorer.transform(replaced)
    val target = targetColumn(scored.schema)
    val hidden = Seq(fCol, gCol, id) ++ (if (keep) originals else Nil)
    hidden.foreach(h =>
      if (!scored.columns.contains(h)) throw new IllegalArgumentException(
        s"$uid: the model dropped the input column '$h'; ICETransformer needs a model that keeps its input columns"))

    getKind match {
      case "individual" =>
        val inputCols = df.columns.toSeq
        inputCols.foreach(c =>
          if (!scored.columns.contains(c)) throw new IllegalArgumentException(
            s"$uid: the model dropped the input column '$c'; ICETransformer needs a model that keeps its input columns"))
        val restored = inputCols.map { c =>
          val k = fs.indexWhere(_._1.name == c)
          if (k >= 0) first(col(originals(k))).as(c) else first(ColumnRef(c)).as(c)
        }
        val grouped = scored.select((ColumnRef(id) +: inputCols.map(ColumnRef(_))) ++
            originals.map(col) :+ struct(col(fCol), col(gCol), target.as(tCol)).as("s"): _*)
          .groupBy(id).agg(restored.head, restored.tail :+ collect_list(col("s")).as("s"): _*)
        val sizes = grids.map(_.length)
        val stage = uid
        val split = udf { (rows: Seq[Row]) => ICETransformer.byFeature(stage, rows, sizes) }
        val withCurves = grouped.withColumn("s", split(col("s")))
        val curves = fs.zipWithIndex.map { case ((f, field), k) =>
          map_from_arrays(array(grids(k).toIndexedSeq.map(lit): _*).cast(ArrayType(field.dataType)),
            element_at(col("s"), k + 1)).as(f.outputCol)
        }
        withCurves.select(inputCols.map(ColumnRef(_)) ++ curves: _*)
      case kindName =>
        val width = if (numericTarget(scored.schema)) 1 else getTargetClasses.length
        val sums = scored.select(col(fCol), col(gCol), target.as(tCol)).groupBy(fCol, gCol)
          .agg(count(lit(1)).as("n"), (0 until width).map(c => avg(element_at(col(tCol), c + 1)).as(s"m$c")): _*)
          .collect()
        if (sums.isEmpty) throw new IllegalArgumentException(s"$uid: the input has no rows to explain")
        val means = fs.indices.map { k =>
          val rows = sums.filter(_.getInt(0) == k).map(r => r.getInt(1) -> r).toMap
          grids(k).indices.map(g => Vectors.dense((0 until width).map(c => rows(g).getDouble(3 + c)).toArray))
        }
        val spark = df.sparkSession
        if (kindName == "average") {
          val schema = transformSchema(df.schema)
          val row = Row.fromSeq(fs.indices.map(k => grids(k).toSeq.zip(means(k)).toMap))
          spark.createDataFrame(java.util.Arrays.asList(row), schema)
        } else {
          val rows = fs.zipWithIndex.map { case ((f, _), k) =>
            val m = means(k)
            val imp = (0 until width).map { c =>
              val xs = m.map(_(c))
              f match {
                case _: ICENumericFeature =>
                  val mean = xs.sum / xs.length
                  if (xs.length < 2) 0.0 else math.sqrt(xs.map(x => (x - mean) * (x - mean)).sum / (xs.length - 1))
                case _ => (xs.max - xs.min) / 4
              }
            }
            Row(f.name, Vectors.dense(imp.toArray))
          }.sortBy(r => -r.getAs[Vector](1)(0))
          spark.createDataFrame(java.util.Arrays.asList(rows: _*), transformSchema(df.schema))
        }
    }
  }

  private def numericTarget(schema: StructType): Boolean = Columns.isNumeric(schema(getTargetCol).dataType)

  /** The target as array<double>: the target classes' scores, or the one number. */
  private def targetColumn(schema: StructType): Column = {
    val (name, classes, stage) = (getTargetCol, getTargetClasses, uid)
    val field = Columns.requireType(schema, uid, name,
      s"a vector, an array of numbers or a number: the model's output to explain (set targetCol to one of the " +
        s"model's output columns: ${schema.fieldNames.filterNot(_.startsWith(Columns.internalPrefix("ice"))).mkString(", ")})"
    )(t =>
      t == VectorType || Columns.isNumeric(t) ||
        (t match {
          case ArrayType(e, _) => Columns.isNumeric(e)
          case _ => false
        }))
    def pick(scores: Array[Double]): Seq[Double] = {
      if (scores == null) throw new IllegalArgumentException(
        s"$stage: the model gave a null '$name' for a row; ICE needs a score for every row and value")
      classes.toSeq.map { c =>
        if (c >= scores.length) throw new IllegalArgumentException(
          s"$stage: targetClasses holds $c but '$name' has only ${scores.length} score(s) (classes 0 to " +
            s"${scores.length - 1})")
        scores(c)
      }
    }
    field.dataType match {
      case VectorType => udf((v: Vector) => pick(if (v == null) null else v.toArray)).apply(ColumnRef(name))
      case ArrayType(_, _) =>
        udf((v: Seq[java.lang.Double]) =>
          pick(if (v == null || v.contains(null)) null else v.map(_.doubleValue).toArray))
          .apply(ColumnRef(name).cast(ArrayType(DoubleType)))
      case _ =>
        udf { (v: java.lang.Double) =>
          if (v == null) throw new IllegalArgumentException(
            s"$stage: the model gave a null '$name' for a row; ICE needs a score for every row and value")
          Seq(v.doubleValue)
        }.apply(ColumnRef(name).cast(DoubleType))
    }
  }

  override def copy(extra: ParamMap): ICETransformer = defaultCopy[ICETransformer](extra)
}

object ICETransformer extends IrbisReadable[ICETransformer] {

  /** A numeric feature's grid: numSplits+1 evenly spaced values from min to max (as numpy.linspace; `dataRange` is
   * the column's in the data, None when it has no values), in the column's type (integers rounded half up, repeats
   * dropped); a categorical feature's most frequent values. */
  private[lime] def grid(stage: String, df: DataFrame, feature: ICEFeature, field: StructField,
                         defaultSplits: Int, dataRange: Option[(Double, Double)]): Array[Any] = feature match {
    case f: ICENumericFeature =>
      val (lo, hi) = (f.rangeMin, f.rangeMax) match {
        case (Some(a), Some(b)) => (a, b)
        case _ =>
          val (dataMin, dataMax) = dataRange.getOrElse(throw new IllegalArgumentException(
              s"$stage: numeric feature '${f.name}' has no values in the data (no rows, or only nulls)"))
          (f.rangeMin.getOrElse(dataMin), f.rangeMax.getOrElse(dataMax))
      }
      if (!(lo <= hi)) throw new IllegalArgumentException(
        s"$stage: numeric feature '${f.name}' has range [$lo, $hi]: rangeMin must not exceed rangeMax or the data's maximum")
      val n = f.numSplits.getOrElse(defaultSplits)
      val step = (hi - lo) / n
      val points = (0 to n).map(i => if (i == n) hi else lo + step * i)
      val typed: Seq[Any] = field.dataType match {
        case IntegerType => points.map(x => math.round(x).toInt)
        case LongType => points.map(x => math.round(x))
        case ShortType => points.map(x => math.round(x).toShort)
        case ByteType => points.map(x => math.round(x).toByte)
        case FloatType => points.map(_.toFloat)
        case d: DecimalType =>
          points.map(x => new java.math.BigDecimal(x).setScale(d.scale, java.math.RoundingMode.HALF_UP))
        case _ => points
      }
      typed.distinct.toArray
    case f: ICECategoricalFeature =>
      val c = ColumnRef(f.name)
      val top = df.where(c.isNotNull).groupBy(c).agg(count(lit(1)).as("n"))
        .orderBy(col("n").desc, c.asc).limit(f.numTopValues.getOrElse(ICEFeature.DefaultNumTopValues)).collect()
      if (top.isEmpty) throw new IllegalArgumentException(
        s"$stage: categorical feature '${f.name}' has no values in the data (no rows, or only nulls)")
      top.map(_.get(0))
  }

  /** One row's scored samples as, per feature, the target vectors in grid order. */
  private[lime] def byFeature(stage: String, rows: Seq[Row], sizes: Seq[Int]): Seq[Seq[Vector]] = {
    val out = sizes.map(n => new Array[Vector](n))
    rows.foreach { r =>
      val t = r.getSeq[Double](2)
      out(r.getInt(0))(r.getInt(1)) = Vectors.dense(t.toArray)
    }
    out.zipWithIndex.foreach { case (a, k) =>
      if (a.contains(null)) throw new IllegalStateException(s"$stage: a row lacks scores for feature $k")
    }
    out.map(_.toSeq)
  }
}
