package irbis.train

import irbis.core._
import org.apache.spark.ml.{Estimator, Model}
import org.apache.spark.ml.attribute.{Attribute, NominalAttribute}
import org.apache.spark.ml.param.{ParamMap, Params, StringArrayParam}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{Column, DataFrame, Dataset}
import org.apache.spark.sql.functions.udf
import org.apache.spark.sql.types._

/**
 * Levels of an indexed column: the distinct non-null values sorted ascending in their own type (numbers
 * numerically, strings lexicographically, false before true), each written as Spark's cast to string,
 * and the column's type, which Spark ML's `NominalAttribute` cannot hold: it goes next to it in the
 * column metadata under [[Levels.TypeKey]], so that [[IndexToValue]] gives back values of the original type.
 */
object Levels {
  val TypeKey = "irbisLevelType"

  def supported(t: DataType): Boolean = t match {
    case _: NumericType | StringType | BooleanType | DateType | TimestampType => true
    case _ => false
  }

  def fit(df: DataFrame, column: String): Array[String] = {
    val c = ColumnRef(column)
    df.select(c).where(c.isNotNull).distinct().orderBy(c).select(c.cast(StringType)).collect().map(_.getString(0))
  }

  def metadata(name: String, levels: Array[String], levelType: DataType, base: Metadata = Metadata.empty): Metadata = {
    val attr = NominalAttribute.defaultAttr.withName(name).withValues(levels)
    new MetadataBuilder().withMetadata(base).withMetadata(attr.toMetadata()).putString(TypeKey, levelType.json).build()
  }

  /** The levels and their type from a column's metadata; the type is string without Irbis' key. */
  def fromField(f: StructField): Option[(Array[String], DataType)] =
    Attribute.fromStructField(f) match {
      case n: NominalAttribute if n.values.isDefined =>
        val t = if (f.metadata.contains(TypeKey)) DataType.fromJson(f.metadata.getString(TypeKey)) else StringType
        Some((n.values.get, t))
      case _ => None
    }

  /** The schema with `f` added, or replacing the column of the same name. */
  def put(schema: StructType, f: StructField): StructType =
    if (schema.fieldNames.contains(f.name)) StructType(schema.fields.map(x => if (x.name == f.name) f else x))
    else schema.add(f)

  def describe(levels: Array[String]): String = {
    val shown = levels.take(20).map(l => s"'$l'").mkString(", ")
    if (levels.length > 20) s"$shown, ... (${levels.length} in all)" else shown
  }
}

trait ValueIndexerParams extends Params with HasInputCol with HasOutputCol {
  final val unknownValues = new EnumParam(this, "unknownValues",
    "What transforming does with a value that was not seen when fitting: 'error' fails naming the column, the " +
      "value and the known levels; 'keep' gives it the extra index equal to the number of levels. A null " +
      "input always gives a null index.", Seq("error", "keep"))
  setDefault(unknownValues -> "error")
  def getUnknownValues: String = $(unknownValues)
  def setUnknownValues(value: String): this.type = set(unknownValues, value)

  protected def checkInput(schema: StructType, stage: String): StructField = {
    val f = Columns.requireType(schema, stage, getInputCol,
      "a number, string, boolean, date or timestamp column")(Levels.supported)
    Columns.requireAbsent(schema.copy(fields = schema.fields.filterNot(_.name == getInputCol)), stage, getOutputCol)
    f
  }
}

class ValueIndexer(override val uid: String) extends Estimator[ValueIndexerModel]
  with IrbisStage with ValueIndexerParams {
  def this() = this(Identifiable.randomUID("ValueIndexer"))

  override def stageDoc: String =
    "Maps the values of a column of any simple type (numbers, strings, booleans, dates, timestamps) to indices " +
      "0, 1, ... by their ascending order (numbers numerically, strings lexicographically, false before true); " +
      "nulls are not levels and stay null. The output column carries the levels as Spark ML NominalAttribute " +
      "metadata, which IndexToValue reads to map indices back to the original values and type."

  override def transformSchema(schema: StructType): StructType = {
    checkInput(schema, uid)
    Levels.put(schema, StructField(getOutputCol, DoubleType, nullable = true))
  }

  override def fit(dataset: Dataset[_]): ValueIndexerModel = {
    transformSchema(dataset.schema, logging = true)
    val levels = Levels.fit(dataset.toDF(), getInputCol)
    copyValues(new ValueIndexerModel(uid).setLevels(levels)
        .setLevelType(dataset.schema(getInputCol).dataType.json).setParent(this))
  }

  override def copy(extra: ParamMap): ValueIndexer = defaultCopy(extra)
}

object ValueIndexer extends IrbisReadable[ValueIndexer]

class ValueIndexerModel(override val uid: String) extends Model[ValueIndexerModel]
  with IrbisStage with ValueIndexerParams {
  def this() = this(Identifiable.randomUID("ValueIndexerModel"))

  override def stageDoc: String =
    "Maps values to the indices of the levels that ValueIndexer found (in ascending order); the output column " +
      "carries the levels as NominalAttribute metadata."

  final val levels = new StringArrayParam(this, "levels",
    "The levels in index order, each as Spark's cast of the value to string.")
  def getLevels: Array[String] = $(levels)
  def setLevels(value: Array[String]): this.type = set(levels, value)

  final val levelType = new StringParam(this, "levelType",
    "The type of the fitted column, as Spark's DataType JSON (e.g. \"string\", \"integer\").")
  def getLevelType: String = $(levelType)
  def setLevelType(value: String): this.type = set(levelType, value)

  override def transformSchema(schema: StructType): StructType = {
    checkInput(schema, uid)
    Levels.put(schema,
      StructField(getOutputCol, DoubleType, nullable = true,
        Levels.metadata(getOutputCol, getLevels, DataType.fromJson(getLevelType))))
  }

  /** The index column for `input` (a column of the fitted type), failing or keeping unknown values. */
  def indexColumn(input: Column, column: String): Column = {
    val known = getLevels.zipWithIndex.map { case (l, i) => l -> i.toDouble }.toMap
    val keep = getUnknownValues == "keep"
    val (n, stage, shown) = (getLevels.length.toDouble, uid, Levels.describe(getLevels))
    val lookup = udf { (v: String) =>
      if (v == null) None
      else known.get(v) match {
        case some @ Some(_) => some
        case None if keep => Some(n)
        case None => throw new IllegalArgumentException(
            s"$stage: column '$column' holds '$v', which was not seen when fitting (known levels: $shown). " +
              "Fit on data that has it, or set unknownValues to 'keep'.")
      }
    }
    lookup(input.cast(StringType))
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    val schema = transformSchema(dataset.schema, logging = true)
    val df = dataset.toDF()
    df.withColumn(getOutputCol, indexColumn(ColumnRef(getInputCol), getInputCol))
      .withMetadata(getOutputCol, schema(getOutputCol).metadata)
  }

  override def copy(extra: ParamMap): ValueIndexerModel =
    copyValues(new ValueIndexerModel(uid), extra).setParent(parent)
}

object ValueIndexerModel extends IrbisReadable[ValueIndexerModel]
