package irbis.train

import irbis.core._
import org.apache.spark.ml.{Estimator, Model, Transformer}
import org.apache.spark.ml.classification.LogisticRegression
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.functions.when
import org.apache.spark.sql.types._

class TrainClassifier(override val uid: String) extends Estimator[TrainedClassifierModel]
  with IrbisStage with TrainParams with HasLearner {
  def this() = this(Identifiable.randomUID("TrainClassifier"))

  override def stageDoc: String =
    "Trains any Spark ML classifier on a raw table: the inputs (every column but the label, unless inputCols is " +
      "set) are featurized as Featurize does, the label (numbers, strings or booleans) is indexed by its sorted " +
      "levels, and the learner (`model`, by default LogisticRegression) is fitted. Rows with a missing label are " +
      "left out. The fitted model adds Spark's rawPrediction, probability and prediction (the level's index) " +
      "and scored_labels, the prediction as an original label value; prediction and scored_labels carry the " +
      "levels as NominalAttribute metadata (index i of the probability vector is level i)."

  override protected def defaultLearner: Estimator[_] = new LogisticRegression()

  override def transformSchema(schema: StructType): StructType = {
    val inputs = resolvedInputs(schema, uid)
    val label = Columns.requireType(schema, uid, getLabelCol, "a number, string or boolean column of classes")(t =>
      t.isInstanceOf[NumericType] || t == StringType || t == BooleanType)
    val featurized = featurizer(inputs, getFeaturesCol, uid).transformSchema(schema)
    // The learner sees the indexed label, never the original column (which may hold strings).
    val indexLabel = Columns.internalPrefix("TrainClassifier") + "label"
    val learnerOut =
      configuredLearner(getFeaturesCol, indexLabel).transformSchema(featurized.add(indexLabel, DoubleType))
    TrainedClassifierModel.scoredSchema(StructType(learnerOut.fields.filterNot(_.name == indexLabel)), label.dataType,
      uid,
      getLabelCol)
  }

  override def fit(dataset: Dataset[_]): TrainedClassifierModel = {
    transformSchema(dataset.schema, logging = true)
    val df = labelled(dataset.toDF())
    val indexLabel = Columns.internalPrefix("TrainClassifier") + "label"
    val indexer = new ValueIndexer().setInputCol(getLabelCol).setOutputCol(indexLabel).fit(df)
    indexer.getLevels match {
      case Array() => throw new IllegalArgumentException(
          s"$uid: label column '$getLabelCol' has no values to learn from (it is empty or all null)")
      case Array(only) => throw new IllegalArgumentException(
          s"$uid: label column '$getLabelCol' has the single value '$only'; a classifier needs at least two classes " +
            "(check the label column and any filtering before training)")
      case _ =>
    }
    val inputs = resolvedInputs(df.schema, uid)
    val featurizerModel = featurizer(inputs, getFeaturesCol, Identifiable.randomUID("Featurize")).fit(df)
    val train = indexer.transform(featurizerModel.transform(df))
    val fitted = configuredLearner(getFeaturesCol, indexLabel).fit(train).asInstanceOf[Transformer]
    copyValues(new TrainedClassifierModel(uid).setInputCols(inputs).setFeaturizer(featurizerModel)
        .setLabelIndexer(indexer).setFittedLearner(fitted).setParent(this))
  }

  override def copy(extra: ParamMap): TrainClassifier = defaultCopy[TrainClassifier](extra)
}

object TrainClassifier extends IrbisReadable[TrainClassifier]

class TrainedClassifierModel(override val uid: String) extends Model[TrainedClassifierModel]
  with IrbisStage with TrainParams {
  def this() = this(Identifiable.randomUID("TrainedClassifierModel"))

  override def stageDoc: String =
    "Scores a raw table with the classifier that TrainClassifier fitted: rawPrediction, probability, prediction " +
      "(the level's index) and scored_labels (the original label value). If the table has the label column, a " +
      "label value the model was not trained on is an error naming it."

  final val featurizer = new StageParam[FeaturizeModel](this, "featurizer", "The fitted featurization of the inputs.")
  def getFeaturizer: FeaturizeModel = $(featurizer)
  def setFeaturizer(value: FeaturizeModel): this.type = set(featurizer, value)

  final val labelIndexer = new StageParam[ValueIndexerModel](this, "labelIndexer",
    "The label's levels (sorted ascending) and type.")
  def getLabelIndexer: ValueIndexerModel = $(labelIndexer)
  def setLabelIndexer(value: ValueIndexerModel): this.type = set(labelIndexer, value)

  final val fittedLearner =
    new StageParam[Transformer](this, "fittedLearner", "The fitted Spark ML classification model.")
  def getFittedLearner: Transformer = $(fittedLearner)
  def setFittedLearner(value: Transformer): this.type = set(fittedLearner, value)

  /** The label values in index order (index i of probability and rawPrediction is level i). */
  def getLevels: Array[String] = getLabelIndexer.getLevels

  private def labelType: DataType = DataType.fromJson(getLabelIndexer.getLevelType)

  override def transformSchema(schema: StructType): StructType =
    TrainedClassifierModel.scoredSchema(getFittedLearner.transformSchema(getFeaturizer.transformSchema(schema)),
      labelType, uid, getLabelCol, Some(getLevels))

  override def transform(dataset: Dataset[_]): DataFrame = {
    val schema = transformSchema(dataset.schema, logging = true)
    val df = dataset.toDF()
    val label = getLabelCol
    // The label's values are checked as they are read; scores are never compared with unknown labels.
    val checked = if (!df.columns.contains(label)) df
    else {
      val l = ColumnRef(label)
      df.withColumn(label, when(l.isNull || getLabelIndexer.indexColumn(l, label).isNotNull, l))
        .withMetadata(label, df.schema(label).metadata)
    }
    val scored = getFittedLearner.transform(getFeaturizer.transform(checked))
    val prediction = ColumnRef("prediction")
    scored.withMetadata("prediction", schema("prediction").metadata)
      .withColumn(TrainedClassifierModel.ScoredLabels,
        IndexToValue.valueColumn(prediction, getLevels, labelType, uid, "prediction"))
      .withMetadata(TrainedClassifierModel.ScoredLabels, schema(TrainedClassifierModel.ScoredLabels).metadata)
  }

  override def copy(extra: ParamMap): TrainedClassifierModel =
    copyValues(new TrainedClassifierModel(uid), extra).setParent(parent)
}

object TrainedClassifierModel extends IrbisReadable[TrainedClassifierModel] {
  val ScoredLabels = "scored_labels"

  /**
   * The learner's output plus scored_labels; with the levels known, both carry them as metadata. Both record the
   * label and scores columns for the metric stages (Scored.record).
   */
  private[train] def scoredSchema(learnerOut: StructType, labelType: DataType, stage: String, label: String,
                                  levels: Option[Array[String]] = None): StructType = {
    Columns.requireAbsent(learnerOut, stage, ScoredLabels)
    val scores = Scored.scoresOf(learnerOut)
    val meta = (name: String) =>
      Scored.record(levels.map(Levels.metadata(name, _, labelType)).getOrElse(Metadata.empty), label, scores)
    Levels.put(learnerOut, StructField("prediction", DoubleType, nullable = false, meta("prediction")))
      .add(StructField(ScoredLabels, labelType, nullable = true, meta(ScoredLabels)))
  }
}
