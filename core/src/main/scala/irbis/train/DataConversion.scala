package irbis.train

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{ParamMap, StringArrayParam}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{Column, DataFrame, Dataset}
import org.apache.spark.sql.functions._
import org.apache.spark.sql.types._

class DataConversion(override val uid: String) extends Transformer with IrbisStage {
  def this() = this(Identifiable.randomUID("DataConversion"))

  override def stageDoc: String =
    "Converts columns in place to another type. A value that cannot be converted (text that is not a number, a " +
      "number too large for the type, a date that does not match the format) fails the job with an error naming " +
      "the column and the value; nulls stay null. 'toCategorical' indexes the column like ValueIndexer, fitted on " +
      "the data being transformed; 'clearCategorical' maps such an index column back to its values."

  final val cols = new StringArrayParam(this, "cols", "The columns to convert (at least one).",
    Validators.nonEmpty)
  def getCols: Array[String] = $(cols)
  def setCols(value: Array[String]): this.type = set(cols, value)

  final val convertTo = new EnumParam(this, "convertTo", "The target type.",
    Seq("boolean", "byte", "short", "integer", "long", "float", "double", "string", "date", "timestamp",
      "toCategorical", "clearCategorical"))
  setDefault(convertTo -> "double")
  def getConvertTo: String = $(convertTo)
  def setConvertTo(value: String): this.type = set(convertTo, value)

  final val dateTimeFormat = new StringParam(this, "dateTimeFormat",
    "The pattern (Spark's datetime patterns, e.g. 'dd/MM/yyyy') that text follows when converting to date or " +
      "timestamp; empty (the default): ISO 8601 text such as '2024-05-31' or '2024-05-31 12:30:00'.")
  setDefault(dateTimeFormat -> "")
  def getDateTimeFormat: String = $(dateTimeFormat)
  def setDateTimeFormat(value: String): this.type = set(dateTimeFormat, value)

  private val simpleTypes: Map[String, DataType] = Map("boolean" -> BooleanType, "byte" -> ByteType,
    "short" -> ShortType, "integer" -> IntegerType, "long" -> LongType, "float" -> FloatType,
    "double" -> DoubleType, "string" -> StringType, "date" -> DateType, "timestamp" -> TimestampType)

  private def convertible(t: DataType): Boolean = t match {
    case _: NumericType | StringType | BooleanType | DateType | TimestampType => true
    case _ => false
  }

  override def transformSchema(schema: StructType): StructType = getCols.foldLeft(schema) { (s, c) =>
    val f = getConvertTo match {
      case "toCategorical" =>
        Columns.requireType(s, uid, c, "a number, string, boolean, date or timestamp column")(Levels.supported)
        StructField(c, DoubleType, nullable = true)
      case "clearCategorical" =>
        val f = Columns.requireType(s, uid, c, "a numeric index column")(Columns.isNumeric)
        val (_, t) = Levels.fromField(f).getOrElse(throw new IllegalArgumentException(
            s"$uid: column '$c' is not categorical (it has no NominalAttribute levels); convert it with " +
              "toCategorical or ValueIndexer first"))
        StructField(c, t, nullable = true)
      case target @ ("date" | "timestamp") =>
        Columns.requireType(s, uid, c, "a string, date or timestamp column")(t =>
          t == StringType || t == DateType || t == TimestampType)
        StructField(c, simpleTypes(target), nullable = true)
      case target =>
        Columns.requireType(s, uid, c, "a number, string, boolean, date or timestamp column")(convertible)
        StructField(c, simpleTypes(target), nullable = true)
    }
    Levels.put(s, f)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    getCols.foldLeft(dataset.toDF()) { (df, c) =>
      getConvertTo match {
        case "toCategorical" =>
          new ValueIndexer().setInputCol(c).setOutputCol(c).fit(df).transform(df)
        case "clearCategorical" =>
          val (levels, t) = Levels.fromField(df.schema(c)).get
          df.withColumn(c, IndexToValue.valueColumn(ColumnRef(c), levels, t, uid, c)).withMetadata(c, Metadata.empty)
        case target =>
          df.withColumn(c, checked(ColumnRef(c), df.schema(c).dataType, simpleTypes(target), c))
            .withMetadata(c, df.schema(c).metadata)
      }
    }
  }

  /** The converted value, or a job failure naming the column and the value when it has no conversion. */
  private def checked(in: Column, from: DataType, to: DataType, name: String): Column = {
    val fmt = getDateTimeFormat
    val converted = (from, to) match {
      case (StringType, TimestampType) if fmt.nonEmpty => try_to_timestamp(in, lit(fmt))
      case (StringType, DateType) if fmt.nonEmpty => try_to_timestamp(in, lit(fmt)).cast(DateType)
      case _ => in.try_cast(to)
    }
    val expected = to match {
      case DateType | TimestampType if fmt.nonEmpty => s"${to.simpleString} in the format '$fmt'"
      case _ => to.simpleString
    }
    when(in.isNotNull && converted.isNull,
      raise_error(concat(
          lit(s"$uid: column '$name' holds '"), in.cast(StringType),
          lit(s"', which cannot be converted to $expected"))))
      .otherwise(converted)
  }

  override def copy(extra: ParamMap): DataConversion = defaultCopy(extra)
}

object DataConversion extends IrbisReadable[DataConversion]
