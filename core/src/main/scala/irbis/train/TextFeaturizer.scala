package irbis.train

import irbis.core._
import org.apache.spark.ml.{Estimator, Model, Pipeline, PipelineModel, PipelineStage}
import org.apache.spark.ml.feature.{HashingTF, IDF, NGram, RegexTokenizer, SQLTransformer, StopWordsRemover}
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.ml.param._
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.{StringType, StructField, StructType}

trait TextFeaturizerParams extends Params with HasInputCol with HasOutputCol {
  final val toLowercase = new BooleanParam(this, "toLowercase", "Lower-case the text before tokenizing.")
  final val tokenizerPattern = new StringParam(this, "tokenizerPattern",
    "The regular expression that separates tokens (the text is split at its matches).", Validators.nonEmpty)
  final val minTokenLength = new IntParam(this, "minTokenLength", "Shorter tokens are dropped.", Validators.gtEq(1))
  final val removeStopWords = new BooleanParam(this, "removeStopWords",
    "Drop stop words (Spark's list for stopWordsLanguage) before forming n-grams.")
  final val stopWordsLanguage = new EnumParam(this, "stopWordsLanguage", "The language of the stop-word list.",
    Seq("danish", "dutch", "english", "finnish", "french", "german", "hungarian", "italian", "norwegian",
      "portuguese", "russian", "spanish", "swedish", "turkish"))
  final val nGramLength = new IntParam(this, "nGramLength",
    "Terms are the tokens and every n-gram of 2 to nGramLength consecutive tokens (1: tokens only).",
    Validators.gtEq(1))
  final val numFeatures = new IntParam(this, "numFeatures",
    "The number of hashed term-frequency slots (terms are hashed with Spark's HashingTF).", Validators.gt(0))
  final val binary = new BooleanParam(this, "binary", "Count each term at most once per text.")
  final val useIDF = new BooleanParam(this, "useIDF",
    "Scale the term frequencies by the inverse document frequency fitted on the data: log((n + 1) / (df + 1)).")
  final val minDocFreq = new IntParam(this, "minDocFreq",
    "With useIDF, terms in fewer texts get weight 0.", Validators.gtEq(0))
  setDefault(outputCol -> "features", toLowercase -> true, tokenizerPattern -> "\\W+", minTokenLength -> 1,
    removeStopWords -> true, stopWordsLanguage -> "english", nGramLength -> 1, numFeatures -> (1 << 18),
    binary -> false, useIDF -> true, minDocFreq -> 0)

  def getToLowercase: Boolean = $(toLowercase)
  def setToLowercase(v: Boolean): this.type = set(toLowercase, v)
  def getTokenizerPattern: String = $(tokenizerPattern)
  def setTokenizerPattern(v: String): this.type = set(tokenizerPattern, v)
  def getMinTokenLength: Int = $(minTokenLength)
  def setMinTokenLength(v: Int): this.type = set(minTokenLength, v)
  def getRemoveStopWords: Boolean = $(removeStopWords)
  def setRemoveStopWords(v: Boolean): this.type = set(removeStopWords, v)
  def getStopWordsLanguage: String = $(stopWordsLanguage)
  def setStopWordsLanguage(v: String): this.type = set(stopWordsLanguage, v)
  def getNGramLength: Int = $(nGramLength)
  def setNGramLength(v: Int): this.type = set(nGramLength, v)
  def getNumFeatures: Int = $(numFeatures)
  def setNumFeatures(v: Int): this.type = set(numFeatures, v)
  def getBinary: Boolean = $(binary)
  def setBinary(v: Boolean): this.type = set(binary, v)
  def getUseIDF: Boolean = $(useIDF)
  def setUseIDF(v: Boolean): this.type = set(useIDF, v)
  def getMinDocFreq: Int = $(minDocFreq)
  def setMinDocFreq(v: Int): this.type = set(minDocFreq, v)

  protected def outputSchema(schema: StructType, stage: String): StructType = {
    Columns.requireType(schema, stage, getInputCol, "a string column")(_ == StringType)
    Columns.requireAbsent(schema, stage, getOutputCol)
    schema.add(StructField(getOutputCol, VectorType, nullable = false))
  }
}

class TextFeaturizer(override val uid: String) extends Estimator[TextFeaturizerModel]
  with IrbisStage with TextFeaturizerParams with HasFittedPipeline {
  def this() = this(Identifiable.randomUID("TextFeaturizer"))

  override def stageDoc: String =
    "Turns a text column into a sparse vector: tokenize on a pattern, optionally lower-case and drop stop words, " +
      "add n-grams, hash the terms into numFeatures slots (term counts) and weight them by inverse document " +
      "frequency fitted on the data. A null text counts as an empty one."

  override def transformSchema(schema: StructType): StructType = outputSchema(schema, uid)

  override def fit(dataset: Dataset[_]): TextFeaturizerModel = {
    transformSchema(dataset.schema, logging = true)
    val t = Columns.internalPrefix("TextFeaturizer")
    val in = ColumnRef(getInputCol).toString
    val stages = Seq.newBuilder[PipelineStage]
    stages += new SQLTransformer().setStatement(s"SELECT *, coalesce($in, '') AS `${t}text` FROM __THIS__")
    stages += new RegexTokenizer().setInputCol(s"${t}text").setOutputCol(s"${t}tokens").setGaps(true)
      .setPattern(getTokenizerPattern).setToLowercase(getToLowercase).setMinTokenLength(getMinTokenLength)
    var tokens = s"${t}tokens"
    if (getRemoveStopWords) {
      stages += new StopWordsRemover().setInputCol(tokens).setOutputCol(s"${t}words")
        .setStopWords(StopWordsRemover.loadDefaultStopWords(getStopWordsLanguage))
      tokens = s"${t}words"
    }
    val termCols = tokens +: (2 to getNGramLength).map { n =>
      stages += new NGram().setN(n).setInputCol(tokens).setOutputCol(s"${t}gram$n")
      s"${t}gram$n"
    }
    val terms = if (termCols.size == 1) tokens
    else {
      stages += new SQLTransformer().setStatement(
        s"SELECT *, concat(${termCols.map(c => s"`$c`").mkString(", ")}) AS `${t}terms` FROM __THIS__")
      s"${t}terms"
    }
    val tf = if (getUseIDF) s"${t}tf" else getOutputCol
    stages += new HashingTF().setInputCol(terms).setOutputCol(tf).setNumFeatures(getNumFeatures).setBinary(getBinary)
    if (getUseIDF) stages += new IDF().setInputCol(tf).setOutputCol(getOutputCol).setMinDocFreq(getMinDocFreq)
    val fitted = new Pipeline().setStages(stages.result().toArray).fit(dataset)
    copyValues(new TextFeaturizerModel(uid).setPipeline(fitted).setParent(this))
  }

  override def copy(extra: ParamMap): TextFeaturizer = defaultCopy(extra)
}

object TextFeaturizer extends IrbisReadable[TextFeaturizer]

class TextFeaturizerModel(override val uid: String) extends Model[TextFeaturizerModel]
  with IrbisStage with TextFeaturizerParams with HasFittedPipeline {
  def this() = this(Identifiable.randomUID("TextFeaturizerModel"))

  override def stageDoc: String =
    "Turns a text column into the TF-IDF vector that TextFeaturizer fitted (its Spark ML pipeline of tokenizer, " +
      "stop words, n-grams, hashing and IDF)."

  override def transformSchema(schema: StructType): StructType = outputSchema(schema, uid)

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val out = getPipeline.transform(dataset)
    val input = dataset.columns.toSet // drop what the pipeline added but the output (its names depend on a uid)
    out.drop(out.columns.filter(c => !input.contains(c) && c != getOutputCol).toIndexedSeq: _*)
  }

  override def copy(extra: ParamMap): TextFeaturizerModel =
    copyValues(new TextFeaturizerModel(uid), extra).setParent(parent)
}

object TextFeaturizerModel extends IrbisReadable[TextFeaturizerModel]
