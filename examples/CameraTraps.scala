package irbis.examples

import java.io.File
import java.math.{BigDecimal => JBigDecimal, RoundingMode}
import java.nio.file.{Files, Path, Paths}
import java.util.Locale

import scala.collection.mutable

import irbis.featurize.ImageFeaturizer
import irbis.image.{ImageDecoder, ImageSetAugmenter, UnrollBinaryImage}
import irbis.lightgbm.LightGBMClassifier
import irbis.stages.EnsembleByKey
import org.apache.hadoop.fs.{Path => HadoopPath}
import org.apache.spark.ml.{Pipeline, PipelineModel, PipelineStage}
import org.apache.spark.ml.classification.LogisticRegression
import org.apache.spark.ml.functions.vector_to_array
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.sql.expressions.Window
import org.apache.spark.sql.functions.{col, monotonically_increasing_id, row_number, udf}

/**
 * Camera-trap transfer learning: is this frame a snow leopard? The Scala twin of `examples/camera_traps.py`:
 * same steps, same printed table.
 *
 * Data: a folder with `labels.csv` (path, species, is_snow_leopard, sequence, ...; paths relative to the
 * folder) and the images. Every other file in the folder is read too, so nothing is skipped silently: an
 * undecodable image gets null features and an error message, and is reported and left out with a count.
 *
 * Five models, evaluated by leave-one-sequence-out (frames of one trigger burst are never split between train
 * and test; `--folds K` groups the sequences into K folds instead):
 *   1. raw pixels: UnrollBinaryImage to 32x32, LogisticRegression;
 *   2. deep features: ImageFeaturizer (EfficientNet-Lite0, 1280-d pooled features), LogisticRegression;
 *   3. (2) trained on the training frames plus their horizontal flips (ImageSetAugmenter);
 *   4. (3) with EnsembleByKey over `sequence`: each frame gets the mean probability of its burst;
 *   5. deep features: LightGBMClassifier (boosted trees) instead of the logistic regression of (2).
 * The pipeline of model (4), fitted on all frames, is saved, loaded back and must predict identically.
 *
 * The model is the ONNX file written by the Python converter (`python -m irbis.models.efficientnet_lite --out F`),
 * which carries its preprocessing as metadata. Run:
 * {{{
 * spark-submit --class irbis.examples.CameraTraps --jars build/jars/irbis-assembly.jar \
 *   build/jars/irbis-examples.jar --data camera-traps --model efficientnet_lite0.onnx [--out DIR] [--folds K]
 * }}}
 * Exits 0 when the save/load and bookkeeping checks pass, 1 otherwise, 2 on bad arguments.
 */
object CameraTraps {
  val MetadataFiles: Set[String] = Set("labels.csv", "README.md") // files of the data folder that are not images
  val Pixels = 32
  val Models: Seq[String] = Seq("1 raw pixels 32x32 + LR", "2 deep features + LR", "3 deep features + flips + LR",
    "4 = 3 + EnsembleByKey(sequence)", "5 deep features + LightGBM")
  val TableColumns: Seq[String] = Seq("model", "frame acc", "sequence acc", "leopard frames found", "false alarms")
  val LabelColumns: Seq[String] = Seq("path", "species", "is_snow_leopard", "sequence")

  case class Options(data: String, model: String, out: Option[String], folds: Option[Int])

  /** One test frame's prediction by one model in one fold. */
  case class Prediction(relpath: String, sequence: String, label: Double, p: Double, model: String, fold: Int) {
    def pred: Double = if (p >= 0.5) 1.0 else 0.0
  }

  private val timings = mutable.ArrayBuffer.empty[(String, Double)]

  def timed[T](step: String)(body: => T): T = {
    val start = System.nanoTime()
    val result = body
    timings += step -> (System.nanoTime() - start) / 1e9
    println(f"  [${timings.last._2}%6.1f s] $step".formatLocal(Locale.ROOT))
    result
  }

  val usage: String = "usage: CameraTraps --data DIR --model MODEL.onnx [--out DIR] [--folds K]\n" +
    "  --data   folder with labels.csv and the images\n" +
    "  --model  EfficientNet-Lite0 as ONNX (python -m irbis.models.efficientnet_lite --out MODEL.onnx)\n" +
    "  --out    output folder (default: a new temporary folder)\n" +
    "  --folds  K-fold by sequence instead of leave-one-sequence-out (the default); K >= 2"

  def parseArgs(args: Seq[String]): Either[String, Options] = {
    def loop(rest: List[String], seen: Map[String, String]): Either[String, Map[String, String]] = rest match {
      case Nil => Right(seen)
      case ("-h" | "--help") :: _ => Left(usage)
      case flag :: value :: tail if Set("--data", "--model", "--out", "--folds")(flag) && !value.startsWith("--") =>
        if (seen.contains(flag)) Left(s"$flag is given twice") else loop(tail, seen + (flag -> value))
      case flag :: _ if Set("--data", "--model", "--out", "--folds")(flag) => Left(s"$flag needs a value")
      case other :: _ => Left(s"unknown argument '$other'")
    }
    for {
      given <- loop(args.toList, Map.empty)
      data <- given.get("--data").toRight("--data DIR is required")
      model <- given.get("--model").toRight("--model MODEL.onnx is required (convert it with " +
        "`python -m irbis.models.efficientnet_lite --out MODEL.onnx`)")
      folds <- given.get("--folds") match {
        case None => Right(None)
        case Some(k) => k.toIntOption.filter(_ >= 2).map(Some(_)).toRight(s"--folds must be an integer >= 2, not '$k'")
      }
    } yield Options(data, model, given.get("--out"), folds)
  }

  def main(args: Array[String]): Unit = {
    val options = parseArgs(args.toSeq) match {
      case Right(o) => o
      case Left(message) =>
        System.err.println(if (message == usage) usage else s"$message\n$usage")
        sys.exit(2)
    }
    val status = try run(options)
    catch {
      case e: Exception =>
        e.printStackTrace()
        1
    }
    sys.exit(status)
  }

  def run(options: Options): Int = {
    val dataDir = new File(options.data).getCanonicalFile
    val modelFile = new File(options.model).getCanonicalFile
    require(dataDir.isDirectory, s"--data ${options.data}: no such folder")
    require(new File(dataDir, "labels.csv").isFile, s"--data ${options.data}: the folder has no labels.csv")
    require(modelFile.isFile,
      s"--model ${options.model}: no such file (convert the model with " +
        "`python -m irbis.models.efficientnet_lite --out MODEL.onnx`)")
    val out = options.out.map(o => Files.createDirectories(Paths.get(o)).toRealPath())
      .getOrElse(Files.createTempDirectory("irbis-camera-traps-"))
    val start = System.nanoTime()

    val spark = timed("start Spark") {
      val s = SparkSession.builder().appName("irbis-camera-traps")
        .config("spark.sql.shuffle.partitions", "4").config("spark.ui.showConsoleProgress", "false").getOrCreate()
      s.sparkContext.setLogLevel("ERROR")
      s
    }
    val ok = try evaluate(spark, dataDir.toPath, modelFile.getPath, out, options.folds)
    finally spark.stop()
    println("timings:")
    for ((step, seconds) <- timings) println(f"  $seconds%7.1f s  $step".formatLocal(Locale.ROOT))
    println(f"  ${(System.nanoTime() - start) / 1e9}%7.1f s  total".formatLocal(Locale.ROOT))
    println(s"outputs in $out")
    if (ok) 0 else 1
  }

  /** labels.csv as (path, species, is_snow_leopard, sequence) rows, checked: 0/1 labels, one label per sequence. */
  def readLabels(spark: SparkSession, dataDir: Path): DataFrame = {
    val file = dataDir.resolve("labels.csv").toString
    val raw = spark.read.option("header", "true").option("escape", "\"").option("mode", "FAILFAST").csv(file)
    val absent = LabelColumns.filterNot(raw.columns.contains)
    require(absent.isEmpty, s"$file: missing column(s) ${absent.mkString(", ")}; it has ${raw.columns.mkString(", ")}")
    val rows = raw.select(LabelColumns.map(col): _*).collect()
    rows.zipWithIndex.foreach { case (r, i) =>
      val line = i + 2 // the header is line 1
      LabelColumns.filter(c => r.isNullAt(r.fieldIndex(c))).foreach { c =>
        throw new IllegalArgumentException(s"$file line $line: column $c is empty")
      }
      require(Set("0", "1")(r.getAs[String]("is_snow_leopard").trim),
        s"$file line $line: is_snow_leopard must be 0 or 1, not '${r.getAs[String]("is_snow_leopard")}'")
    }
    val duplicated = rows.groupBy(_.getAs[String]("path")).collect { case (p, rs) if rs.length > 1 => p }
    require(duplicated.isEmpty, s"$file: path(s) listed more than once: ${duplicated.toSeq.sorted.mkString(", ")}")
    val mixed = rows.groupBy(_.getAs[String]("sequence"))
      .collect { case (s, rs) if rs.map(_.getAs[String]("is_snow_leopard").trim).distinct.length > 1 => s }
    require(mixed.isEmpty, s"$file: sequences with mixed labels: ${mixed.toSeq.sorted.mkString(", ")}")
    raw.select(col("path").as("relpath"), col("species"), col("is_snow_leopard").cast("int").as("is_snow_leopard"),
      col("sequence")).withColumn("label", col("is_snow_leopard").cast("double"))
  }

  /** Every file under dataDir (except labels.csv and README.md), with its path relative to the folder. */
  def readImages(spark: SparkSession, dataDir: Path): DataFrame = {
    val root = dataDir.toString
    val relative = udf { (path: String) =>
      Paths.get(root).relativize(Paths.get(new HadoopPath(path).toUri.getPath)).toString.replace(File.separatorChar,
        '/')
    }
    spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(root)
      .withColumn("relpath", relative(col("path")))
      .where(!col("relpath").isin(MetadataFiles.toSeq: _*))
  }

  /**
   * Deep features of every image (copy 0) and of its horizontal flip (copy 1), computed once and cached.
   * ImageSetAugmenter emits each image followed by its flipped copy; the copy number is their order within the
   * task (monotonically_increasing_id follows it), checked later against features computed from the files.
   */
  def featurize(files: DataFrame, modelPath: String): DataFrame = {
    val decoded = new ImageDecoder().setInputCol("content").setOutputCol("image")
      .transform(files.select("path", "relpath", "content"))
    val augmented = new ImageSetAugmenter().setInputCol("image").setOutputCol("image")
      .setFlipLeftRight(true).setFlipUpDown(false)
      .transform(decoded).withColumn("rowid", monotonically_increasing_id())
    val featurizer = new ImageFeaturizer().setInputCol("image").setOutputCol("features").setModelLocation(modelPath)
    featurizer.transform(augmented.drop("content"))
      .withColumn("copy", row_number().over(Window.partitionBy("relpath").orderBy("rowid")) - 1)
      .select("relpath", "copy", "features", "error").cache()
  }

  /**
   * Sequence -> fold. k = None: one fold per sequence; otherwise sequences sorted by (label, id) dealt
   * round-robin, so that every fold's training part has both classes.
   */
  def foldAssignment(sequences: Map[String, Double], k: Option[Int]): Map[String, Int] =
    sequences.toSeq.sortBy { case (s, label) => (-label, s) }.zipWithIndex
      .map { case ((s, _), i) => s -> k.fold(i)(i % _) }.toMap

  def lr(featuresCol: String): LogisticRegression =
    new LogisticRegression().setFeaturesCol(featuresCol).setLabelCol("label").setMaxIter(100).setRegParam(0.01)

  /**
   * LightGBM on the deep features. A fold trains on a few dozen frames, so the trees are small (4 leaves, at least
   * 3 frames per leaf); one partition, so one LightGBM worker and no network; deterministic with one thread.
   */
  def gbm(featuresCol: String): LightGBMClassifier =
    new LightGBMClassifier().setFeaturesCol(featuresCol).setLabelCol("label").setNumIterations(50)
      .setLearningRate(0.1).setNumLeaves(4).setMinDataInLeaf(3).setDeterministic(true).setNumThreads(1).setSeed(7)

  def pLeopard(df: DataFrame, column: String = "probability"): DataFrame =
    df.withColumn("p", vector_to_array(col(column)).getItem(1))

  def framePredictions(df: DataFrame, model: String, fold: Int): Seq[Prediction] =
    df.select("relpath", "sequence", "label", "p").collect().toSeq.map { r =>
      Prediction(r.getString(0), r.getString(1), r.getDouble(2), r.getDouble(3), model, fold)
    }

  /** Python's f"{x:.3f}": the double's exact binary value rounded half-even. */
  def fixed3(x: Double): String = new JBigDecimal(x).setScale(3, RoundingMode.HALF_EVEN).toPlainString

  def summarize(preds: Seq[Prediction]): Seq[Seq[String]] = Models.map { name =>
    val m = preds.filter(_.model == name)
    val frameAcc = m.count(x => x.pred == x.label).toDouble / m.size
    val bySequence = m.groupBy(_.sequence).values.toSeq.map { frames =>
      val votes = frames.map(_.pred).sum / frames.size
      val p = frames.map(_.p).sum / frames.size
      // majority of the frames' predictions; a tie goes to the mean probability
      val predicted = if (votes == 0.5) p >= 0.5 else votes > 0.5
      (if (predicted) 1.0 else 0.0) == frames.head.label
    }
    val sequenceAcc = bySequence.count(identity).toDouble / bySequence.size
    val found = m.count(x => x.pred == 1 && x.label == 1)
    val falseAlarms = m.count(x => x.pred == 1 && x.label == 0)
    Seq(name, fixed3(frameAcc), fixed3(sequenceAcc), s"$found/${m.count(_.label == 1)}",
      s"$falseAlarms/${m.count(_.label == 0)}")
  }

  /** Columns right-aligned and separated by one space, as pandas' `to_string(index=False)` prints them. */
  def formatTable(header: Seq[String], rows: Seq[Seq[String]]): String = {
    val widths = header.indices.map(i => (header +: rows).map(_(i).length).max)
    (header +: rows).map(r => r.zip(widths).map { case (v, w) => " " * (w - v.length) + v }.mkString(" "))
      .mkString("\n")
  }

  def evaluate(spark: SparkSession, dataDir: Path, modelPath: String, out: Path, k: Option[Int]): Boolean = {
    println(s"model: $modelPath (given)")
    val labels = readLabels(spark, dataDir).cache()
    val labelledPaths = labels.select("relpath").collect().map(_.getString(0)).toSet

    val (files, features, feats) = timed("read files, featurize every image and its flip once (cached)") {
      val files = readImages(spark, dataDir).cache()
      val features = featurize(files, modelPath)
      val feats = features.select(col("relpath"), col("copy"), col("features").isNull, col("error")).collect()
        .map(r => (r.getString(0), r.getInt(1), r.getBoolean(2), Option(r.getString(3))))
      (files, features, feats)
    }
    val (pixels, pix) = timed("raw pixels 32x32 of every image (cached)") {
      val pixels = new UnrollBinaryImage().setInputCol("content").setOutputCol("pixels").setHeight(Pixels)
        .setWidth(Pixels).transform(files).select(col("relpath"), col("pixels"), col("error").as("pixel_error")).cache()
      val pix = pixels.select(col("relpath"), col("pixels").isNull, col("pixel_error")).collect()
        .map(r => (r.getString(0), r.getBoolean(1), Option(r.getString(2))))
      (pixels, pix)
    }

    val onDisk = feats.map(_._1).toSet
    val wrongCounts = feats.groupBy(_._1).collect { case (p, rs) if rs.length != 2 => s"$p: ${rs.length}" }
    require(wrongCounts.isEmpty, s"expected an image and its flip per file: ${wrongCounts.mkString(", ")}")
    val bad = feats.filter(_._3).groupBy(_._1).map { case (p, rs) => p -> rs.flatMap(_._4).headOption.getOrElse("") }
    val badPixels = pix.filter(_._2).map(r => r._1 -> r._3.getOrElse("")).toMap
    val unlabelled = (onDisk -- labelledPaths).toSeq.sorted
    val missing = (labelledPaths -- onDisk).toSeq.sorted
    println(s"files: ${onDisk.size} read, ${labelledPaths.size} rows in labels.csv")
    println(s"undecodable (null features, dropped): ${bad.size}")
    for ((path, error) <- bad.toSeq.sortBy(_._1)) println(s"  $path: $error")
    if (badPixels.keySet != bad.keySet)
      println(s"  note: UnrollBinaryImage failed on ${badPixels.keys.toSeq.sorted.mkString("[", ", ", "]")}")
    println(s"files without a row in labels.csv (dropped): ${unlabelled.size} ${unlabelled.mkString("[", ", ", "]")}")
    println(s"labels.csv rows without a file (dropped): ${missing.size} ${missing.mkString("[", ", ", "]")}")
    val dropped = bad.keySet ++ badPixels.keySet

    val usable = labels.where(!col("relpath").isin((dropped ++ missing).toSeq: _*))
    val joined = usable.join(features, "relpath").join(pixels, "relpath").cache()
    val n = joined.where("copy = 0").count()
    val sequences =
      joined.select("sequence", "label").distinct().collect().map(r => r.getString(0) -> r.getDouble(1)).toMap
    val folds = foldAssignment(sequences, k)
    val nFolds = folds.values.toSet.size
    val scheme = k.fold("leave-one-sequence-out")(k => s"$k-fold by sequence (sequences dealt round-robin by label)")
    println(s"evaluation: $scheme, $nFolds folds, $n frames in ${sequences.size} sequences " +
      s"(${sequences.values.sum.round} snow leopard sequences)")
    import spark.implicits._
    val foldOf = folds.toSeq.toDF("sequence", "fold")
    // one partition: ~90 small rows, and every L-BFGS iteration is a Spark job whose cost is mostly per task
    val frames = joined.join(foldOf, "sequence").coalesce(1).cache()

    val ensemble = new EnsembleByKey().setKeys(Array("sequence")).setCols(Array("probability"))
      .setColNames(Array("sequenceProbability")).setCollapseGroup(false)
    val preds = timed(s"$nFolds folds x 3 logistic regressions (+ EnsembleByKey) + LightGBM") {
      (0 until nFolds).flatMap { fold =>
        val train = frames.where(col("fold") =!= fold)
        val test = frames.where(col("fold") === fold && col("copy") === 0)
        val originals = train.where("copy = 0")
        val m1 = lr("pixels").fit(originals)
        val m2 = lr("features").fit(originals)
        val m3 = lr("features").fit(train) // originals and their flips; the test frames are never flipped
        val m5 = gbm("features").fit(originals)
        val scored = m3.transform(test)
        framePredictions(pLeopard(m1.transform(test)), Models(0), fold) ++
          framePredictions(pLeopard(m2.transform(test)), Models(1), fold) ++
          framePredictions(pLeopard(scored), Models(2), fold) ++
          framePredictions(pLeopard(ensemble.transform(scored), "sequenceProbability"), Models(3), fold) ++
          framePredictions(pLeopard(m5.transform(test)), Models(4), fold)
      }
    }
    val table = formatTable(TableColumns, summarize(preds))

    val confusion = Array.ofDim[Int](2, 2)
    for (x <- preds if x.model == Models(3)) confusion(x.label.toInt)(x.pred.toInt) += 1
    val png = out.resolve("confusion_model4.png")
    ConfusionPng.write(confusion, png, Seq("model 4 (flips + EnsembleByKey)", scheme),
      s"${preds.count(_.model == Models(3))} frames, per-frame predictions")

    val saved = out.resolve("camera-traps-model4").toString
    val (same, cacheDiff) = timed("fit model 4 on all frames, save, load, compare") {
      val finalLr = lr("features").fit(frames)
      val featurizer = new ImageFeaturizer().setInputCol("content").setOutputCol("features").setModelLocation(modelPath)
      val testFiles = files.join(usable.select("relpath", "sequence"), "relpath")
      // Every stage is already fitted, so Pipeline.fit only checks the schema and assembles the PipelineModel.
      val pipeline = new Pipeline().setStages(Array[PipelineStage](featurizer, finalLr, ensemble)).fit(testFiles)
      pipeline.write.overwrite().save(saved)
      val reloaded = PipelineModel.load(saved)
      def scores(df: DataFrame): Seq[(String, Vector, Vector, Double)] =
        pLeopard(df, "sequenceProbability").select("relpath", "probability", "sequenceProbability", "p")
          .collect().toSeq.map(r => (r.getString(0), r.getAs[Vector](1), r.getAs[Vector](2), r.getDouble(3)))
          .sortBy(_._1)
      val before = scores(pipeline.transform(testFiles))
      val after = scores(reloaded.transform(testFiles))
      val fromCache = scores(ensemble.transform(finalLr.transform(frames.where("copy = 0"))))
      val same = before.map(_._1) == after.map(_._1) && before.zip(after).forall { case (a, b) =>
        a._2.toArray.sameElements(b._2.toArray) && a._3.toArray.sameElements(b._3.toArray)
      }
      require(before.map(_._1) == fromCache.map(_._1), "the pipeline and the cached features scored different files")
      (same, before.zip(fromCache).map { case (a, b) => math.abs(a._4 - b._4) }.max)
    }

    println()
    println(s"snow leopard or not, $scheme ($nFolds folds), $n frames, ${sequences.size} sequences:")
    println(table)
    println("per-sequence accuracy: majority of the frames' predictions (tie: mean probability); for model 4 every " +
      "frame already carries its sequence's mean probability")
    println(s"model 4 confusion matrix (rows true other/leopard, columns predicted): " +
      s"${confusion.map(_.mkString("[", ", ", "]")).mkString("[", ", ", "]")} -> $png")
    println(s"saved pipeline $saved (ImageFeaturizer, LogisticRegression, EnsembleByKey; fitted on all $n frames " +
      s"and their flips): reloaded predicts identically: ${if (same) "True" else "False"}")
    println(f"pipeline from files vs cached features (checks the flip bookkeeping): max |dp| = $cacheDiff%.2e"
        .formatLocal(Locale.ROOT))
    same && cacheDiff < 1e-6 && preds.size == Models.size * n
  }
}
