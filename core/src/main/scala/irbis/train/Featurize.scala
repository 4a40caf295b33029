package irbis.train

import irbis.core._
import irbis.stages.CleanMissingData
import org.apache.spark.internal.Logging
import org.apache.spark.ml.{Estimator, Model, Pipeline, PipelineModel, PipelineStage}
import org.apache.spark.ml.attribute.AttributeGroup
import org.apache.spark.ml.feature.{OneHotEncoder, SQLTransformer, StringIndexer, VectorAssembler}
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.ml.param._
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.functions._
import org.apache.spark.sql.types._

/** How columns become features: shared by Featurize and the training stages, which featurize for their learner. */
trait FeaturizeOptions extends Params {
  final val oneHotEncodeCategoricals = new BooleanParam(this, "oneHotEncodeCategoricals",
    "Categorical columns become one slot per level (the last, for unseen values and nulls, is dropped); " +
      "false: one slot holding the level's index, marked categorical in the metadata (for tree learners).")
  final val maxCategoricalLevels = new IntParam(this, "maxCategoricalLevels",
    "A string column with at most this many distinct values is categorical; one with more is text, " +
      "featurized by TextFeaturizer.", Validators.gtEq(1))
  final val numTextFeatures = new IntParam(this, "numTextFeatures",
    "Hashed slots for each text column.", Validators.gt(0))
  final val imputeMode = new EnumParam(this, "imputeMode",
    "The replacement of a missing numeric value (null or NaN; also for booleans and date parts): the column's " +
      "mean or median over the fitted data.", Seq("Mean", "Median"))
  final val constantColumns = new EnumParam(this, "constantColumns",
    "What to do with an input column whose non-missing values are all equal, or that has none (it carries no " +
      "information): 'drop' leaves it out with a warning in the log; 'error' fails naming it.", Seq("drop", "error"))
  setDefault(oneHotEncodeCategoricals -> true, maxCategoricalLevels -> 100,
    numTextFeatures -> (1 << 12), imputeMode -> "Mean", constantColumns -> "drop")

  def getOneHotEncodeCategoricals: Boolean = $(oneHotEncodeCategoricals)
  def setOneHotEncodeCategoricals(v: Boolean): this.type = set(oneHotEncodeCategoricals, v)
  def getMaxCategoricalLevels: Int = $(maxCategoricalLevels)
  def setMaxCategoricalLevels(v: Int): this.type = set(maxCategoricalLevels, v)
  def getNumTextFeatures: Int = $(numTextFeatures)
  def setNumTextFeatures(v: Int): this.type = set(numTextFeatures, v)
  def getImputeMode: String = $(imputeMode)
  def setImputeMode(v: String): this.type = set(imputeMode, v)
  def getConstantColumns: String = $(constantColumns)
  def setConstantColumns(v: String): this.type = set(constantColumns, v)

  /** A Featurize with these options. */
  def featurizer(inputCols: Array[String], outputCol: String, uid: String): Featurize = {
    val f = new Featurize(uid).setInputCols(inputCols).setOutputCol(outputCol)
    Seq(oneHotEncodeCategoricals, maxCategoricalLevels, numTextFeatures, imputeMode, constantColumns)
      .foreach { p => f.set(f.getParam(p.name).asInstanceOf[Param[Any]], $(p.asInstanceOf[Param[Any]])) }
    f
  }
}

trait FeaturizeParams extends FeaturizeOptions with HasInputCols with HasOutputCol {
  setDefault(outputCol -> "features")

  protected def outputSchema(schema: StructType, stage: String): StructType = {
    getInputCols.foreach(c =>
      Columns.requireType(schema, stage, c,
        "a number, boolean, string, date, timestamp or vector column")(Featurize.supported))
    Columns.requireAbsent(schema, stage, getOutputCol)
    schema.add(StructField(getOutputCol, VectorType, nullable = false))
  }

  /** Prefix of the intermediate columns, dropped from the output and from the feature names. */
  protected def internalPrefix: String = Columns.internalPrefix("Featurize")

  /**
   * The dataset with each vector input column checked: a null vector (no imputation exists for one; an image
   * stage's row that could not be decoded has one) fails the job with an error naming the column, instead of
   * VectorAssembler's, which names none and suggests handleInvalid=keep (NaN features, wrong predictions).
   */
  protected def nullVectorsRefused(dataset: Dataset[_], stage: String): DataFrame =
    getInputCols.filter(c => dataset.schema(c).dataType == VectorType).foldLeft(dataset.toDF()) { (df, c) =>
      df.withColumn(c,
        when(ColumnRef(c).isNull,
          raise_error(lit(s"$stage: column '$c' holds a null vector, " +
              "which has no imputation (an earlier stage may have failed on that row: see its error column); " +
              s"drop those rows first, e.g. df.na.drop(subset=['$c'])"))).otherwise(ColumnRef(c)))
    }
}

class Featurize(override val uid: String) extends Estimator[FeaturizeModel]
  with IrbisStage with FeaturizeParams with Logging {
  def this() = this(Identifiable.randomUID("Featurize"))

  override def stageDoc: String =
    "Turns columns of any simple type into one feature vector: numbers and booleans as they are with missing " +
      "values imputed; strings with few distinct values as categoricals (one-hot or indexed), other strings as " +
      "text (TextFeaturizer); dates and timestamps as their parts (year, month, day, weekday, and hour, minute, " +
      "second); vectors passed through. The output carries Spark ML attribute metadata naming every slot " +
      "(e.g. 'age', 'color_red', 'when_year', 'review_17')."

  override def transformSchema(schema: StructType): StructType = outputSchema(schema, uid)

  private def q(c: String): String = "`" + c.replace("`", "``") + "`"

  override def fit(dataset: Dataset[_]): FeaturizeModel = {
    transformSchema(dataset.schema, logging = true)
    val p = internalPrefix
    val schema = dataset.schema
    // Numeric features (original name -> prepared double columns), string and vector columns.
    val numeric = getInputCols.toSeq.flatMap { c =>
      schema(c).dataType match {
        case _: NumericType | BooleanType => Seq(c -> (p + c, s"CAST(${q(c)} AS DOUBLE)"))
        case DateType | TimestampType =>
          val parts = Seq("year" -> "year", "month" -> "month", "day" -> "dayofmonth", "weekday" -> "dayofweek") ++
            (if (schema(c).dataType == TimestampType) Seq("hour" -> "hour", "minute" -> "minute", "second" -> "second")
             else Nil)
          parts.map { case (part, f) => c -> (s"$p${c}_$part", s"CAST($f(${q(c)}) AS DOUBLE)") }
        case _ => Nil
      }
    }
    val strings = getInputCols.filter(c => schema(c).dataType == StringType)
    val vectors = getInputCols.filter(c => schema(c).dataType == VectorType)
    val prepare = new SQLTransformer().setStatement("SELECT *" +
      (numeric.map { case (_, (name, expr)) => s", $expr AS ${q(name)}" } ++
        strings.map(c => s", ${q(c)} AS ${q(p + "in_" + c)}")).mkString + " FROM __THIS__")
    val prepared = prepare.transform(dataset)

    // One pass for the statistics that decide what is constant and what is text.
    val finite = (name: String) => when(!isnan(ColumnRef(name)), ColumnRef(name))
    val aggs = numeric.flatMap { case (_, (name, _)) => Seq(min(finite(name)), max(finite(name))) } ++
      strings.map(c => count_distinct(ColumnRef(p + "in_" + c)))
    val stats = if (aggs.isEmpty) null else prepared.agg(aggs.head, aggs.tail: _*).head()
    val keptNumeric = numeric.indices.filter { i =>
      !stats.isNullAt(2 * i) && stats.getDouble(2 * i) != stats.getDouble(2 * i + 1)
    }.map(numeric(_))
    val levelCounts = strings.indices.map(i => strings(i) -> stats.getLong(2 * numeric.size + i)).toMap
    val constant = getInputCols.filter { c =>
      (numeric.exists(_._1 == c) && !keptNumeric.exists(_._1 == c)) || levelCounts.get(c).exists(_ <= 1)
    }
    if (constant.nonEmpty) {
      val what = s"column(s) ${constant.map(c => s"'$c'").mkString(", ")} have a single value or only missing " +
        "values and carry no information"
      if (getConstantColumns == "error") throw new IllegalArgumentException(
        s"$uid: $what; remove them from inputCols, or set constantColumns to 'drop'")
      logWarning(s"$uid: dropping $what")
    }
    val categorical = strings.filter(c => !constant.contains(c) && levelCounts(c) <= getMaxCategoricalLevels)
    val text = strings.filter(c => !constant.contains(c) && levelCounts(c) > getMaxCategoricalLevels)

    val stages = Seq.newBuilder[PipelineStage]
    stages += prepare
    if (keptNumeric.nonEmpty) stages += new CleanMissingData().setInputCols(keptNumeric.map(_._2._1).toArray)
      .setCleaningMode(getImputeMode)
    if (categorical.nonEmpty) {
      val oneHot = getOneHotEncodeCategoricals
      stages += new StringIndexer().setInputCols(categorical.map(c => p + "in_" + c))
        .setOutputCols(categorical.map(c => if (oneHot) p + "idx_" + c else p + c))
        .setHandleInvalid("keep").setStringOrderType("alphabetAsc")
      if (oneHot) stages += new OneHotEncoder().setInputCols(categorical.map(p + "idx_" + _))
        .setOutputCols(categorical.map(p + _)).setDropLast(true)
    }
    text.foreach { c =>
      stages += new TextFeaturizer().setInputCol(p + "in_" + c).setOutputCol(p + c).setNumFeatures(getNumTextFeatures)
    }
    val assembled = getInputCols.toSeq.flatMap { c =>
      if (vectors.contains(c)) Seq(c)
      else if (categorical.contains(c) || text.contains(c)) Seq(p + c)
      else keptNumeric.filter(_._1 == c).map(_._2._1)
    }
    if (assembled.isEmpty) throw new IllegalArgumentException(
      s"$uid: no features are left (every input column was constant or empty); choose other inputCols")
    stages += new VectorAssembler().setInputCols(assembled.toArray).setOutputCol(getOutputCol).setHandleInvalid("error")
    val fitted = new Pipeline().setStages(stages.result().toArray).fit(nullVectorsRefused(dataset, uid))
    copyValues(new FeaturizeModel(uid).setPipeline(fitted).setParent(this))
  }

  override def copy(extra: ParamMap): Featurize = defaultCopy(extra)
}

/** The fitted Spark ML pipeline a featurization model runs. */
trait HasFittedPipeline extends Params {
  final val pipeline = new StageParam[PipelineModel](this, "pipeline",
    "The fitted Spark ML pipeline; its intermediate columns are dropped from the output.")
  def getPipeline: PipelineModel = $(pipeline)
  def setPipeline(value: PipelineModel): this.type = set(pipeline, value)
}

object Featurize extends IrbisReadable[Featurize] {
  def supported(t: DataType): Boolean = t match {
    case _: NumericType | BooleanType | StringType | DateType | TimestampType => true
    case other => other == VectorType
  }
}

class FeaturizeModel(override val uid: String) extends Model[FeaturizeModel] with IrbisStage with FeaturizeParams
  with HasFittedPipeline {
  def this() = this(Identifiable.randomUID("FeaturizeModel"))

  override def stageDoc: String =
    "Assembles the feature vector that Featurize fitted (imputation, category levels, text vocabulary weights)."

  override def transformSchema(schema: StructType): StructType = outputSchema(schema, uid)

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val p = internalPrefix
    val out = getPipeline.transform(nullVectorsRefused(dataset, uid))
    val group = AttributeGroup.fromStructField(out.schema(getOutputCol))
    val named = group.attributes match {
      case Some(attrs) => new AttributeGroup(getOutputCol,
          attrs.map(a => a.name.map(n => a.withName(n.stripPrefix(p))).getOrElse(a))).toMetadata()
      case None => out.schema(getOutputCol).metadata
    }
    // the pipeline's intermediate columns: everything it added but the output (a nested TextFeaturizer's too)
    val input = dataset.columns.toSet
    out.drop(out.columns.filter(c => !input.contains(c) && c != getOutputCol).toIndexedSeq: _*)
      .withMetadata(getOutputCol, named)
  }

  override def copy(extra: ParamMap): FeaturizeModel = copyValues(new FeaturizeModel(uid), extra).setParent(parent)
}

object FeaturizeModel extends IrbisReadable[FeaturizeModel]
