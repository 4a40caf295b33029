package irbis.stages

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.functions.vector_to_array
import org.apache.spark.ml.param.{BooleanParam, ParamMap, StringArrayParam}
import org.apache.spark.ml.stat.Summarizer
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{Column, DataFrame, Dataset, Row, SparkSession}
import org.apache.spark.sql.expressions.Window
import org.apache.spark.sql.functions._
import org.apache.spark.sql.types.StructType

class EnsembleByKey(override val uid: String) extends Transformer with IrbisStage {
  def this() = this(Identifiable.randomUID("EnsembleByKey"))

  override def stageDoc: String =
    "Combines the numeric and vector columns `cols` over the rows that share the values of `keys`, e.g. " +
      "averages the class probabilities of all frames of one camera-trap burst. Vectors are combined element " +
      "by element; nulls are ignored, and a group whose values are all null combines to null (also for sum). With `collapseGroup` one row per key is returned (keys and combined " +
      "columns), otherwise every row is kept and gains the combined columns."

  final val keys = new StringArrayParam(this, "keys", "The columns whose values define a group (at least one).",
    Validators.nonEmpty)
  def getKeys: Array[String] = $(keys)
  def setKeys(value: Array[String]): this.type = set(keys, value)

  final val cols = new StringArrayParam(this, "cols", "The numeric or vector columns to combine (at least one).",
    Validators.nonEmpty)
  def getCols: Array[String] = $(cols)
  def setCols(value: Array[String]): this.type = set(cols, value)

  final val colNames = new StringArrayParam(this, "colNames",
    "The output column names, one per column of `cols`; by default `<strategy>(<col>)`.")
  def getColNames: Array[String] = if (isDefined(colNames)) $(colNames) else $(cols).map(c => s"$getStrategy($c)")
  def setColNames(value: Array[String]): this.type = set(colNames, value)

  final val strategy = new EnumParam(this, "strategy", "How the values of a group are combined.",
    Seq("mean", "sum", "min", "max"))
  setDefault(strategy -> "mean")
  def getStrategy: String = $(strategy)
  def setStrategy(value: String): this.type = set(strategy, value)

  final val collapseGroup = new BooleanParam(this, "collapseGroup",
    "Return one row per group (true) or keep every row and add the combined columns (false).")
  setDefault(collapseGroup -> true)
  def getCollapseGroup: Boolean = $(collapseGroup)
  def setCollapseGroup(value: Boolean): this.type = set(collapseGroup, value)

  final val vectorDims = new StringIntMapParam(this, "vectorDims",
    "The expected size of each vector column (column name to size); a vector of another size fails the job " +
      "with a message naming the column. Optional: sizes are not checked for columns left out.")
  setDefault(vectorDims -> Map.empty[String, Int])
  def getVectorDims: Map[String, Int] = $(vectorDims)
  def setVectorDims(value: Map[String, Int]): this.type = set(vectorDims, value)
  def setVectorDims(value: java.util.Map[String, Integer]): this.type = {
    import scala.jdk.CollectionConverters._
    setVectorDims(value.asScala.map { case (k, v) => k -> v.intValue }.toMap)
  }

  private def validate(schema: StructType): Unit = {
    getKeys.foreach(k => Columns.require(schema, uid, k))
    getCols.foreach { c =>
      Columns.requireType(schema, uid, c, "a numeric or vector column")(t =>
        Columns.isNumeric(t) || Columns.isVector(t))
    }
    require(getColNames.length == getCols.length,
      s"$uid: colNames has ${getColNames.length} names but cols has ${getCols.length} columns")
    getVectorDims.keys.foreach { c =>
      require(getCols.contains(c), s"$uid: vectorDims names '$c', which is not one of cols (${getCols.mkString(", ")})")
      Columns.requireType(schema, uid, c, "a vector column (it is named in vectorDims)")(Columns.isVector)
    }
    if (!getCollapseGroup) getColNames.foreach(n => Columns.requireAbsent(schema, uid, n))
  }

  private def checked(c: String): Column = getVectorDims.get(c) match {
    case Some(d) =>
      val n = size(vector_to_array(ColumnRef(c)))
      when(ColumnRef(c).isNull || n === d, ColumnRef(c)).otherwise(raise_error(concat(
            lit(s"$uid: column '$c' holds a vector of size "), n.cast("string"), lit(s"; vectorDims expects $d"))))
    case None => ColumnRef(c)
  }

  /** Per column: the aggregate, how to read the result from it, and the output name. */
  private def combined(schema: StructType): Seq[(Column, Column => Column, String)] =
    getCols.toSeq.zip(getColNames).map { case (c, name) =>
      val v = checked(c)
      if (Columns.isVector(schema(c).dataType)) {
        // Summarizer's metric names match the strategy names; it yields a struct holding the metric.
        (Summarizer.metrics(getStrategy).summary(v), (a: Column) => a.getField(getStrategy), name)
      } else {
        val agg = getStrategy match {
          case "mean" => avg(v)
          case "sum" => sum(v)
          case "min" => min(v)
          case "max" => max(v)
        }
        (agg, (a: Column) => a, name)
      }
    }

  private def ensemble(df: DataFrame): DataFrame = {
    val keyCols = getKeys.toSeq.map(ColumnRef(_))
    val aggs = combined(df.schema)
    if (getCollapseGroup) {
      val named = aggs.map { case (a, read, n) => read(a).as(n) }
      df.groupBy(keyCols: _*).agg(named.head, named.tail: _*)
    } else {
      // A window keeps rows whose key is null in their own group, which an equi-join would drop.
      val w = Window.partitionBy(keyCols: _*)
      df.select(col("*") +: aggs.map { case (a, read, n) => read(a.over(w)).as(n) }: _*)
    }
  }

  override def transformSchema(schema: StructType): StructType = {
    validate(schema)
    val spark = SparkSession.active
    ensemble(spark.createDataFrame(java.util.Collections.emptyList[Row](), schema)).schema
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    validate(dataset.schema)
    ensemble(dataset.toDF())
  }

  override def copy(extra: ParamMap): EnsembleByKey = defaultCopy(extra)
}

object EnsembleByKey extends IrbisReadable[EnsembleByKey]
