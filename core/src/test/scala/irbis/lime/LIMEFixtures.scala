package irbis.lime

import scala.jdk.CollectionConverters._
import scala.util.Random

import irbis.image.{ImageRecord, SparkImage, UnrollImage}
import org.apache.spark.ml.{Pipeline, PipelineModel}
import org.apache.spark.ml.classification.{LogisticRegression, LogisticRegressionModel}
import org.apache.spark.ml.feature.{
  CountVectorizer,
  OneHotEncoder,
  SQLTransformer,
  StringIndexer,
  Tokenizer,
  VectorAssembler,
  VectorSlicer
}
import org.apache.spark.ml.linalg.{Vector, Vectors}
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.sql.{DataFrame, Row, SparkSession}
import org.apache.spark.sql.types._
import org.bytedeco.opencv.global.opencv_core.CV_8UC3

/** Models of known structure and data for the LIME tests (fitted once per JVM). */
object LIMEFixtures {

  /** label = 1 when 3 x0 - 0.5 x2 + noise > 0; x1 plays no part. */
  def vectorData(spark: SparkSession, n: Int, seed: Int): DataFrame = {
    val rng = new Random(seed)
    val rows = (0 until n).map { _ =>
      val x = Array.fill(3)(rng.nextGaussian())
      Row(Vectors.dense(x), if (3 * x(0) - 0.5 * x(2) + 0.3 * rng.nextGaussian() > 0) 1.0 else 0.0)
    }
    spark.createDataFrame(rows.asJava,
      StructType(Seq(StructField("features", VectorType), StructField("label", DoubleType))))
  }

  private var vectorModelCache: LogisticRegressionModel = _
  def vectorModel(spark: SparkSession): LogisticRegressionModel = synchronized {
    if (vectorModelCache == null)
      vectorModelCache = new LogisticRegression().setMaxIter(50).fit(vectorData(spark, 400, 1))
    vectorModelCache
  }

  /** label = 1 when colour is red (strongly) or age is high; noise plays no part. */
  def tableData(spark: SparkSession, n: Int, seed: Int): DataFrame = {
    val rng = new Random(seed)
    val colours = Seq("red", "green", "blue")
    val rows = (0 until n).map { _ =>
      val age = 40 + 12 * rng.nextGaussian()
      val colour = colours(rng.nextInt(3))
      val noise = rng.nextGaussian()
      val rooms = rng.nextInt(6)
      val score = (if (colour == "red") 3.0 else -1.0) + 0.08 * (age - 40) + 0.5 * rng.nextGaussian()
      Row(age, colour, noise, rooms, if (score > 0) 1.0 else 0.0)
    }
    spark.createDataFrame(rows.asJava,
      StructType(Seq(StructField("age", DoubleType), StructField("colour", StringType),
          StructField("noise", DoubleType), StructField("rooms", IntegerType), StructField("label", DoubleType))))
  }

  private var tableModelCache: PipelineModel = _
  def tableModel(spark: SparkSession): PipelineModel = synchronized {
    if (tableModelCache == null) tableModelCache = new Pipeline().setStages(Array(
        new StringIndexer().setInputCol("colour").setOutputCol("colourIndex"),
        new OneHotEncoder().setInputCol("colourIndex").setOutputCol("colourVec"),
        new VectorAssembler().setInputCols(Array("age", "noise", "rooms", "colourVec")).setOutputCol("features"),
        new LogisticRegression().setMaxIter(50))).fit(tableData(spark, 600, 2))
    tableModelCache
  }

  /** Random-noise images whose top-left `Region` x `Region` square has one random level; label = level > 128. */
  val Side = 32
  val Region = 12
  def regionImage(rng: Random, level: Int, origin: String): ImageRecord = {
    // Outside the region: 4x4 blocks of random colours (structure that superpixels can follow).
    val blocks = Array.fill(Side / 4, Side / 4, 3)(rng.nextInt(256))
    val data = Array.tabulate(Side * Side * 3) { i =>
      val (y, x, c) = (i / (Side * 3), (i / 3) % Side, i % 3)
      (if (y < Region && x < Region) level else blocks(y / 4)(x / 4)(c)).toByte
    }
    ImageRecord(origin, Side, Side, 3, CV_8UC3, data)
  }

  def images(spark: SparkSession, records: Seq[ImageRecord], labels: Seq[Double]): DataFrame = {
    val rows = records.zip(labels).map { case (r, l) =>
      Row(Row(r.origin, r.height, r.width, r.nChannels, r.mode, r.data), l)
    }
    spark.createDataFrame(rows.asJava,
      StructType(Seq(StructField("image", SparkImage.schema), StructField("label", DoubleType))))
  }

  private var regionModelCache: PipelineModel = _

  /** Looks only at the region: the unrolled pixels (channel-major) are sliced to the region's before the classifier. */
  def regionModel(spark: SparkSession): PipelineModel = synchronized {
    if (regionModelCache == null) {
      val rng = new Random(3)
      val levels = Seq.fill(300)(rng.nextInt(256))
      val df = images(spark, levels.zipWithIndex.map { case (l, i) => regionImage(rng, l, s"train$i") },
        levels.map(l => if (l > 128) 1.0 else 0.0))
      val indices = for (c <- 0 until 3; y <- 0 until Region; x <- 0 until Region) yield c * Side * Side + y * Side + x
      regionModelCache = new Pipeline().setStages(Array(
          new UnrollImage().setInputCol("image").setOutputCol("pixels"),
          new VectorSlicer().setInputCol("pixels").setOutputCol("features").setIndices(indices.toArray),
          new LogisticRegression().setMaxIter(30).setRegParam(0.01))).fit(df)
    }
    regionModelCache
  }

  val positive = Seq("excellent", "great", "lovely")
  val filler =
    Seq("the", "food", "was", "and", "service", "room", "staff", "quite", "very", "view", "price", "bad", "slow")

  /** label = 1 when the sentence holds a positive word. */
  def textData(spark: SparkSession, n: Int, seed: Int): DataFrame = {
    val rng = new Random(seed)
    val rows = (0 until n).map { _ =>
      val words = Seq.fill(4 + rng.nextInt(5))(filler(rng.nextInt(filler.length)))
      val good = rng.nextBoolean()
      val all = if (good) {
        val (a, b) = words.splitAt(rng.nextInt(words.length)); a ++ Seq(positive(rng.nextInt(3))) ++ b
      } else words
      Row(all.mkString(" "), if (good) 1.0 else 0.0)
    }
    spark.createDataFrame(rows.asJava,
      StructType(Seq(StructField("text", StringType), StructField("label", DoubleType))))
  }

  private var textModelCache: PipelineModel = _
  def textModel(spark: SparkSession): PipelineModel = synchronized {
    if (textModelCache == null) textModelCache = new Pipeline().setStages(Array(
        new Tokenizer().setInputCol("text").setOutputCol("tokens"),
        new CountVectorizer().setInputCol("tokens").setOutputCol("features"),
        new LogisticRegression().setMaxIter(50))).fit(textData(spark, 400, 4))
    textModelCache
  }

  private var tokensModelCache: PipelineModel = _

  /** The same task on a tokens column (array<string>). */
  def tokensModel(spark: SparkSession): PipelineModel = synchronized {
    if (tokensModelCache == null) tokensModelCache = new Pipeline().setStages(Array(
        new CountVectorizer().setInputCol("tokens").setOutputCol("features"),
        new LogisticRegression().setMaxIter(50))).fit(
      new Tokenizer().setInputCol("text").setOutputCol("tokens").transform(textData(spark, 400, 5)))
    tokensModelCache
  }

  /**
   * Models of one SQL expression (a `prediction` number) for the examples: the generic suites save and load every
   * example's stage several times in each language, and a fitted pipeline model costs Spark jobs per stage and file
   * each time, where these cost one small file. What the explainers find in a trained model is the suites' to test.
   */
  private def expression(sql: String): SQLTransformer =
    new SQLTransformer().setStatement(s"SELECT *, $sql AS prediction FROM __THIS__")

  /** Over tableData's columns: age, the colour red and rooms raise it. */
  def tableExpression: SQLTransformer = expression("0.08 * (age - 40) + IF(colour = 'red', 3.0, -1.0) + 0.2 * rooms")

  /** Over a text column: 'excellent' raises it, 'slow' lowers it, and so does length. */
  def textExpression: SQLTransformer =
    expression(
      "IF(instr(text, 'excellent') > 0, 2.0, 0.0) - IF(instr(text, 'slow') > 0, 1.0, 0.0) + 0.1 * length(text)")

  /** Over a tokens column: 'food' raises it, 'slow' lowers it, and so does the count of tokens. */
  def tokensExpression: SQLTransformer = expression(
    "IF(array_contains(tokens, 'food'), 1.0, 0.0) - IF(array_contains(tokens, 'slow'), 1.0, 0.0) + 0.5 * size(tokens)")

  /** Over an image column: two bytes of the top-left region, where regionImage puts its level. */
  def regionExpression: SQLTransformer = expression(
    "CAST(conv(hex(substring(image.data, 1, 1)), 16, 10) AS DOUBLE) + " +
      "CAST(conv(hex(substring(image.data, 100, 1)), 16, 10) AS DOUBLE)")

  def weights(row: Row, col: String = "explanation"): Array[Double] =
    row.getSeq[Row](row.fieldIndex(col)).head.getAs[Vector]("weights").toArray

  def rankOf(w: Array[Double]): Seq[Int] = w.indices.sortBy(i => -math.abs(w(i)))
}
