package irbis.lime

import irbis.core._
import org.apache.spark.ml.{Estimator, Model}
import org.apache.spark.ml.param.{ParamMap, StringArrayParam}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.functions.{avg, count, stddev_pop}
import org.apache.spark.sql.types._
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

trait TabularLIMEParams extends LIMEParams with HasInputCols {
  final val categoricalCols = new StringArrayParam(this, "categoricalCols",
    "The input columns that are categorical (numbers or strings): sampled from their background frequencies and " +
      "explained as 'equals the row's value'. The other input columns must be numeric.")
  setDefault(categoricalCols -> Array.empty[String], kernelWidth -> 0.75)
  def getCategoricalCols: Array[String] = $(categoricalCols)
  def setCategoricalCols(value: Array[String]): this.type = set(categoricalCols, value)

  protected def checkColumns(schema: StructType, stage: String): Unit = {
    val extra = getCategoricalCols.filterNot(getInputCols.contains)
    if (extra.nonEmpty) throw new IllegalArgumentException(
      s"$stage: categoricalCols ${extra.mkString(", ")} are not among inputCols ${getInputCols.mkString(", ")}")
    getInputCols.foreach { c =>
      if (getCategoricalCols.contains(c))
        Columns.requireType(schema, stage, c, "a number or a string (a categorical feature)")(t =>
          Columns.isNumeric(t) || t == StringType || t == BooleanType)
      else
        Columns.requireType(schema, stage, c,
          "a number (a numeric feature; list it in categoricalCols if it is categorical)")(Columns.isNumeric)
    }
  }
}

class TabularLIME(override val uid: String) extends Estimator[TabularLIMEModel] with IrbisStage with TabularLIMEParams {
  def this() = this(Identifiable.randomUID("TabularLIME"))

  override def stageDoc: String =
    "LIME for models over table columns, numeric and categorical. Fitting on background data records the mean " +
      "and (population) standard deviation of each numeric column and the value frequencies of each categorical " +
      "column; the model then explains each row by scoring numSamples rows drawn from those statistics (numeric: " +
      "N(mean, std^2); categorical: the background frequencies), all rows' samples in one distributed pass of " +
      "the model, and fitting a kernel-weighted ridge regression of the target score on the samples' " +
      "representation: a numeric feature by its standardised value, a categorical one by 1 when it equals the " +
      "row's value. Outputs per row: for each target class, one weight per input column (in inputCols order), " +
      "the intercept and the local model's R^2."

  override def transformSchema(schema: StructType): StructType = {
    checkColumns(schema, uid)
    explanationSchema(schema, uid)
  }

  override def fit(dataset: Dataset[_]): TabularLIMEModel = {
    transformSchema(dataset.schema)
    requireModel(uid)
    val df = dataset.toDF()
    val numeric = getInputCols.filterNot(getCategoricalCols.contains)
    val numericJson: List[JField] = if (numeric.isEmpty) Nil
    else {
      val aggs = numeric.flatMap(c => Seq(avg(ColumnRef(c)), stddev_pop(ColumnRef(c))))
      val r = df.agg(aggs.head, aggs.tail.toIndexedSeq: _*).head()
      numeric.toList.zipWithIndex.map { case (c, i) =>
        if (r.isNullAt(2 * i))
          throw new IllegalArgumentException(s"$uid: numeric column '$c' has no values in the background data")
        JField(c, JObject("mean" -> JDouble(r.getDouble(2 * i)), "std" -> JDouble(r.getDouble(2 * i + 1))))
      }
    }
    val categoricalJson = getCategoricalCols.toList.map { c =>
      val counts = df.groupBy(ColumnRef(c)).agg(count("*").as("n")).where(ColumnRef(c).isNotNull)
        .limit(TabularLIMEModel.MaxCategories + 1).collect().sortBy(r => String.valueOf(r.get(0)))
      if (counts.isEmpty)
        throw new IllegalArgumentException(s"$uid: categorical column '$c' has no values in the background data")
      if (counts.length > TabularLIMEModel.MaxCategories) throw new IllegalArgumentException(
        s"$uid: categorical column '$c' has more than ${TabularLIMEModel.MaxCategories} distinct values; is it numeric?")
      JField(c,
        JObject(
          "values" -> JArray(counts.map(r => TabularLIMEModel.encodeValue(r.get(0))).toList),
          "frequencies" -> JArray(counts.map(r => JDouble(r.getLong(1).toDouble)).toList)))
    }
    val stats = compact(render(JObject("numeric" -> JObject(numericJson), "categorical" -> JObject(categoricalJson))))
    copyValues(new TabularLIMEModel(uid).setStatistics(stats).setParent(this))
  }

  override def copy(extra: ParamMap): TabularLIME = defaultCopy[TabularLIME](extra)
}

object TabularLIME extends IrbisReadable[TabularLIME]

class TabularLIMEModel(override val uid: String) extends Model[TabularLIMEModel] with IrbisStage
  with TabularLIMEParams {
  def this() = this(Identifiable.randomUID("TabularLIMEModel"))

  override def stageDoc: String =
    "Explains each row with LIME, sampling from the background statistics recorded by TabularLIME (see there)."

  final val statistics = new StringParam(this, "statistics",
    "Background statistics as JSON: {\"numeric\": {column: {\"mean\", \"std\"}}, \"categorical\": {column: " +
      "{\"values\": [...], \"frequencies\": [...]}}}, written by TabularLIME.fit.")
  def getStatistics: String = $(statistics)
  def setStatistics(value: String): this.type = set(statistics, value)

  override def transformSchema(schema: StructType): StructType = {
    checkColumns(schema, uid)
    explanationSchema(schema, uid)
  }

  private def featureStats(schema: StructType): IndexedSeq[FeatureStats] = {
    val json = parse(getStatistics)
    getInputCols.toIndexedSeq.map { c =>
      if (getCategoricalCols.contains(c)) json \ "categorical" \ c match {
        case o: JObject =>
          val values = (o \ "values").asInstanceOf[JArray].arr.map(v =>
            TabularLIMEModel.decodeValue(v, schema(c).dataType))
          val freqs = (o \ "frequencies").asInstanceOf[JArray].arr.map {
            case JDouble(d) => d; case JInt(i) => i.toDouble; case _ => 0.0
          }
          CategoricalStats(values.toIndexedSeq, freqs.toIndexedSeq)
        case _ =>
          throw new IllegalArgumentException(s"$uid: the statistics hold no categorical column '$c'; refit TabularLIME")
      }
      else json \ "numeric" \ c match {
        case o: JObject =>
          def num(name: String): Double =
            o \ name match { case JDouble(d) => d; case JInt(i) => i.toDouble; case _ => Double.NaN }
          NumericStats(num("mean"), num("std"))
        case _ =>
          throw new IllegalArgumentException(s"$uid: the statistics hold no numeric column '$c'; refit TabularLIME")
      }
    }
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    requireModel(uid)
    val schema = dataset.schema
    val stats = featureStats(schema)
    val cols = getInputCols.toIndexedSeq
    val fields = cols.map(c => schema(c).copy(nullable = true))
    val convert: IndexedSeq[Double => Any] = fields.map(f => TabularLIMEModel.fromDouble(f.dataType))
    val (n, seed0, stage) = (getNumSamples, getSeed, uid)
    LIMEEngine.explain(this, uid, dataset, cols, fields,
      { (r: Row) =>
        val row = cols.indices.map { j =>
          if (r.isNullAt(j)) throw new IllegalArgumentException(
            s"$stage: column '${cols(j)}' is null in a row to explain; LIME needs every input value")
          stats(j) match {
            case _: NumericStats => TabularSampling.toDouble(r.get(j))
            case _ => r.get(j)
          }
        }
        TabularSampling.samples(stats, row, n, LIMEEngine.rowSeed(seed0, r.hashCode), convert).iterator
      })
  }

  override def copy(extra: ParamMap): TabularLIMEModel = copyValues(new TabularLIMEModel(uid), extra).setParent(parent)
}

object TabularLIMEModel extends IrbisReadable[TabularLIMEModel] {
  private[lime] val MaxCategories = 10000

  /** A kept value (a category, a background row's value) as JSON, exactly: integers as integers (a long above 2^53
   * would change as a double), decimals as their digits, floats and doubles as doubles. */
  private[lime] def encodeValue(v: Any): JValue = v match {
    case s: String => JString(s)
    case b: Boolean => JBool(b)
    case i @ (_: Byte | _: Short | _: Int | _: Long) => JInt(BigInt(i.asInstanceOf[Number].longValue))
    case d: java.math.BigDecimal => JString(d.toPlainString)
    case other => JDouble(TabularSampling.toDouble(other))
  }

  /** A kept value back as the column's type; one that the type cannot hold exactly is refused. */
  private[lime] def decodeValue(v: JValue, t: DataType): Any = (v, t) match {
    case (JString(s), StringType) => s
    case (JBool(b), BooleanType) => b
    case (JInt(i), IntegerType) if i.isValidInt => i.toInt
    case (JInt(i), LongType) if i.isValidLong => i.toLong
    case (JInt(i), ShortType) if i.isValidShort => i.toShort
    case (JInt(i), ByteType) if i.isValidByte => i.toByte
    case (JInt(i), FloatType | DoubleType) if BigInt(i.toDouble.toLong) == i => fromDouble(t)(i.toDouble)
    case (JString(s), d: DecimalType) if scala.util.Try(new java.math.BigDecimal(s)).isSuccess =>
      val value = new java.math.BigDecimal(s)
      if (value.scale > d.scale || value.precision - value.scale > d.precision - d.scale)
        throw new IllegalArgumentException(s"a saved value $s does not fit type ${t.simpleString}")
      value
    case (JDouble(d), _) => fromDouble(t)(d) // models saved before integers were kept as integers
    case (other, _) => throw new IllegalArgumentException(
        s"a saved value ${compact(render(other))} does not fit type ${t.simpleString}")
  }

  /** A sampled number as the column's own type (integers rounded). */
  private[lime] def fromDouble(t: DataType): Double => Any = t match {
    case IntegerType => (x: Double) => math.round(x).toInt
    case LongType => (x: Double) => math.round(x)
    case ShortType => (x: Double) => math.round(x).toShort
    case ByteType => (x: Double) => math.round(x).toByte
    case FloatType => (x: Double) => x.toFloat
    case _: DecimalType => (x: Double) => new java.math.BigDecimal(x)
    case _ => (x: Double) => x
  }
}
