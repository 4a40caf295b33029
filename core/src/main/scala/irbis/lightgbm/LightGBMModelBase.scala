package irbis.lightgbm

import java.nio.charset.StandardCharsets.UTF_8

import com.microsoft.ml.lightgbm.{lightgbmlibConstants => C}
import irbis.core.{BytesParam, InternalFrames, Validators}
import irbis.onnx.OnnxSessions
import org.apache.hadoop.fs.Path
import org.apache.spark.ml.linalg.{DenseVector, SQLDataTypes, SparseVector, Vector, Vectors}
import org.apache.spark.ml.param.{BooleanParam, IntParam}
import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.expressions.{GenericInternalRow, JoinedRow}
import org.apache.spark.sql.types.{StructField, StructType, UserDefinedType}

/**
 * What the three LightGBM models share: the model text (saved beside the Params, in LightGBM's own format, so
 * that lightgbm in Python or any other binding loads it), its feature importances, and scoring in batches.
 */
trait LightGBMModelBase extends LightGBMParams {
  final val nativeModelBytes = new BytesParam(this, "nativeModelBytes",
    "The trained model in LightGBM's text format (UTF-8 bytes); getNativeModel() gives it as text.")

  final val startIteration = new IntParam(this, "startIteration",
    "Predict with the trees from this iteration on (0: the first); numIterations of them (<= 0: all the rest).",
    Validators.gtEq(0))
  final val predictDisableShapeCheck = new BooleanParam(this, "predictDisableShapeCheck",
    "Accept feature vectors of another size than the model's: extra slots are ignored and missing ones are 0, as " +
      "LightGBM's predict_disable_shape_check does; false: such a row is an error.")
  final val bestIteration = new IntParam(this, "bestIteration",
    "The iteration early stopping kept (1-based; the model holds the trees up to it); -1: training ran to the end " +
      "or the model was loaded from LightGBM's text.")
  setDefault(startIteration -> 0, predictDisableShapeCheck -> false, bestIteration -> -1)
  def setStartIteration(v: Int): this.type = set(startIteration, v)
  def getStartIteration: Int = $(startIteration)
  def setPredictDisableShapeCheck(v: Boolean): this.type = set(predictDisableShapeCheck, v)
  def getPredictDisableShapeCheck: Boolean = $(predictDisableShapeCheck)
  private[lightgbm] def setBestIteration(v: Int): this.type = set(bestIteration, v)

  /** The model in LightGBM's text format, as lightgbm.Booster(model_str=...) reads it. */
  def getNativeModel: String = new String($(nativeModelBytes), UTF_8)

  /**
   * Sets the model from LightGBM's text format (checked by loading it); numIterations becomes the model's number of
   * iterations, so that it predicts with all of them.
   */
  def setNativeModel(text: String): this.type = {
    val iterations = LightGBMModelBase.check(uid, text)
    set(nativeModelBytes, text.getBytes(UTF_8)).set(numIterations, iterations)
  }

  /**
   * numIterations becomes the number of iterations the model holds: a fit copies the estimator's numIterations,
   * which counts only the new trees when training went on from modelString (whose trees the model now holds, so
   * its text is not kept a second time).
   */
  private[lightgbm] def predictingWithAllTrees(): this.type =
    clear(modelString).set(numIterations, withBooster(_.numIterations))

  // SynapseML's model methods.
  /** The iteration early stopping kept, -1 if none (see bestIteration). */
  def getBoosterBestIteration: Int = $(bestIteration)

  /** The number of boosting iterations the model holds. */
  def getBoosterNumTotalIterations: Int = withBooster(_.numIterations)

  /** The number of trees the model holds (iterations times trees per iteration). */
  def getBoosterNumTotalModel: Int = withBooster(_.numTrees)
  def getBoosterNumFeatures: Int = withBooster(_.numFeatures)
  def getBoosterNumClasses: Int = withBooster(_.numClasses)

  /** SHAP contributions of one row: one per feature then the expected value (per class for multiclass). */
  def getFeatureShaps(features: Vector): Array[Double] = predictOne(features, C.C_API_PREDICT_CONTRIB)
  def getDenseFeatureShaps(features: Array[Double]): Array[Double] = getFeatureShaps(Vectors.dense(features))
  def getSparseFeatureShaps(size: Int, indices: Array[Int], values: Array[Double]): Array[Double] =
    getFeatureShaps(Vectors.sparse(size, indices, values))

  /** The leaf index of one row in each tree. */
  def predictLeaf(features: Vector): Vector = Vectors.dense(predictOne(features, C.C_API_PREDICT_LEAF_INDEX))

  /** `df` with LightGBM's raw scores of each row in `outCol`: a number, or a vector of one per class. */
  private[lightgbm] def rawScores(df: DataFrame, featuresCol: String, outCol: String): DataFrame = {
    val perClass = withBooster(_.numClasses) > 1
    val schema = df.schema.add(StructField(outCol,
        if (perClass) SQLDataTypes.VectorType
        else
          org.apache.spark.sql.types.DoubleType, nullable = false))
    score(df, featuresCol, schema, Seq(C.C_API_PREDICT_RAW_SCORE), Seq(outCol),
      r => Array[Any](if (perClass) Vectors.dense(r(0)) else r(0)(0)))
  }

  /** One row's prediction of a kind, with the Params' iterations. */
  protected def predictOne(features: Vector, predictType: Int): Array[Double] = withBooster { b =>
    b.predict(LightGBMModelBase.dense(features, b.numFeatures, getPredictDisableShapeCheck, uid, "the row"), 1,
      predictType, 1, getStartIteration, getNumIterations)
  }

  @transient private var cachedKey: (Array[Byte], String) = _

  /** Runs `f` with this JVM's booster of the model (shared by the threads that use the model, freed only after). */
  private[lightgbm] def withBooster[T](f: LightGBMBooster => T): T =
    LightGBMBooster.withBooster(modelKey, getNativeModel)(f)

  private[lightgbm] def modelKey: String = {
    val bytes = $(nativeModelBytes)
    if (cachedKey == null || (cachedKey._1 ne bytes)) cachedKey = (bytes, OnnxSessions.sha256(bytes))
    cachedKey._2
  }

  /** LightGBM's feature importances: "split" (how often each feature is used) or "gain" (its splits' total gain). */
  def getFeatureImportances(importanceType: String): Array[Double] =
    withBooster(_.featureImportances(importanceType))
  def getFeatureImportances: Array[Double] = getFeatureImportances("split")

  /** Writes the model text to `path` (any Hadoop path), as lightgbm's Booster.save_model does. */
  def saveNativeModel(path: String, overwrite: Boolean): Unit = {
    val p = new Path(path)
    val fs = p.getFileSystem(SparkSession.active.sparkContext.hadoopConfiguration)
    if (fs.exists(p) && !overwrite)
      throw new IllegalArgumentException(s"$uid: $path exists. Expected: a new path, or overwrite")
    val out = fs.create(p, overwrite)
    try out.write($(nativeModelBytes))
    finally out.close()
  }
  def saveNativeModel(path: String): Unit = saveNativeModel(path, overwrite = true)

  /** The SHAP and leaf columns, after the model's own outputs. */
  protected def extraOutputs(schema: StructType): StructType = {
    var s = schema
    extraColumns.foreach { name =>
      if (s.fieldNames.contains(name)) throw new IllegalArgumentException(
        s"$uid: output column '$name' exists already. Expected: a new column name")
      s = s.add(StructField(name, SQLDataTypes.VectorType, nullable = false))
    }
    s
  }

  protected def extraColumns: Seq[String] = Seq(getFeaturesShapCol, getLeafPredictionCol).filter(_.nonEmpty)

  /** Prediction kinds of LightGBM for the SHAP and leaf columns, when asked for. */
  protected def extraTypes: Seq[Int] =
    (if (getFeaturesShapCol.nonEmpty) Seq(C.C_API_PREDICT_CONTRIB) else Nil) ++
      (if (getLeafPredictionCol.nonEmpty) Seq(C.C_API_PREDICT_LEAF_INDEX) else Nil)

  /**
   * Scores with one number per row in `predictionCol` (LightGBM's predict: regression and ranking), and the SHAP
   * and leaf columns when set; `schema` is the output schema.
   */
  protected def scoreOneNumber(dataset: org.apache.spark.sql.Dataset[_], schema: StructType, predictionCol: String,
                               featuresCol: String): DataFrame = {
    val withPrediction = predictionCol.nonEmpty
    val types = (if (withPrediction) Seq(C.C_API_PREDICT_NORMAL) else Nil) ++ extraTypes
    val produced = (if (withPrediction) Seq(predictionCol) else Nil) ++ extraColumns
    score(dataset.toDF(), featuresCol, schema, types, produced,
      { results =>
        (if (withPrediction) Array[Any](results(0)(0)) else Array.empty[Any]) ++
          results.drop(if (withPrediction) 1 else 0).map(r => org.apache.spark.ml.linalg.Vectors.dense(r): Any)
      })
  }

  protected def predictThreads: Int = math.max(1, getOrDefault(numThreads))

  /**
   * Scores `df` a batch of rows at a time: `types` are the LightGBM prediction kinds to compute, and `emit` turns
   * one row's results (one array per kind, in order) into the values of the new columns, in `schema`'s order.
   */
  protected def score(df: DataFrame, featuresCol: String, schema: StructType, types: Seq[Int], produced: Seq[String],
                      emit: Array[Array[Double]] => Array[Any]): DataFrame = {
    // `emit` gives the new columns in the order of `produced`; the schema may order them otherwise.
    val order = schema.fieldNames.drop(df.schema.length).map(produced.indexOf(_))
    require(order.forall(_ >= 0) && order.length == produced.length,
      s"$uid: new columns ${schema.fieldNames.drop(df.schema.length).mkString(", ")} vs ${produced.mkString(", ")}")
    val spark = df.sparkSession
    val text = spark.sparkContext.broadcast(getNativeModel)
    val key = modelKey
    val stage = uid
    val index = df.schema.fieldIndex(featuresCol)
    val expectedSize = withBooster(_.numFeatures)
    val threads = predictThreads
    val (start, count, anySize) = (getStartIteration, getNumIterations, getPredictDisableShapeCheck)
    InternalFrames.mapPartitions(df, schema) { rows =>
      // Held until the partition's rows are all scored (or the task ends): eviction never frees it under this task.
      val lease = LightGBMBooster.acquire(key, text.value)
      Option(org.apache.spark.TaskContext.get()).foreach(_.addTaskCompletionListener[Unit](_ => lease.release()))
      val booster = lease.value
      val udt = SQLDataTypes.VectorType.asInstanceOf[UserDefinedType[Vector]]
      val perBatch =
        if (InternalFrames.inContinuousTask) 1 else math.max(1, math.min(4096, (1 << 20) / math.max(1, expectedSize)))
      val partition = Option(org.apache.spark.TaskContext.get()).map(_.partitionId()).getOrElse(0)
      var number = 0L
      val scored = rows.map(_.copy()).grouped(perBatch).flatMap { batch =>
        val n = batch.size
        val values = new Array[Double](n * expectedSize)
        var i = 0
        while (i < n) {
          val row = batch(i)
          if (row.isNullAt(index)) throw new IllegalArgumentException(
            s"$stage: featuresCol '$featuresCol' is null at row ${number + i} (of partition $partition). Expected: a feature vector")
          val v = udt.deserialize(row.getStruct(index, 4))
          if (v.size != expectedSize && !anySize) throw new IllegalArgumentException(
            s"$stage: featuresCol '$featuresCol' at row ${number + i} (of partition $partition) has size ${v.size}. " +
              s"Expected: $expectedSize, the model's number of features")
          v match {
            case d: DenseVector =>
              System.arraycopy(d.values, 0, values, i * expectedSize, math.min(d.size, expectedSize))
            case s: SparseVector =>
              var k = 0
              while (k < s.indices.length && s.indices(k) < expectedSize) {
                values(i * expectedSize + s.indices(k)) = s.values(k)
                k += 1
              }
          }
          i += 1
        }
        number += n
        val results =
          types.map(t => (booster.predict(values, n, t, threads, start, count), booster.widthOf(t, start, count)))
        (0 until n).iterator.map { r =>
          val mine = results.map { case (all, w) => java.util.Arrays.copyOfRange(all, r * w, (r + 1) * w) }.toArray
          val values = emit(mine)
          new JoinedRow(batch(r), new GenericInternalRow(order.map(k => LightGBMModelBase.internal(values(k)))))
        }
      }
      new Iterator[InternalRow] {
        def hasNext: Boolean = scored.hasNext || { lease.release(); false }
        def next(): InternalRow = scored.next()
      }
    }
  }
}

object LightGBMModelBase {
  private val udt = SQLDataTypes.VectorType.asInstanceOf[UserDefinedType[Vector]]

  /** A value of an output column in Catalyst's form. */
  def internal(v: Any): Any = v match {
    case vec: Vector => udt.serialize(vec)
    case other => other
  }

  /** Checks that `text` is a LightGBM model by loading it (and freeing it again); gives its number of iterations. */
  def check(uid: String, text: String): Int = {
    val b = try LightGBMBooster.load(text)
    catch {
      case e: LightGBMException => throw new IllegalArgumentException(
          s"$uid: the text given is not a LightGBM model (${text.take(40).replace('\n', ' ')}...): ${e.getMessage}", e)
    }
    try b.numIterations
    finally b.free()
  }

  /**
   * One row's values for a model of `size` features: its own when sizes agree; with `anySize` (LightGBM's
   * predict_disable_shape_check) extra slots dropped and missing ones 0, as LightGBM reads them; else an error.
   */
  def dense(v: Vector, size: Int, anySize: Boolean, uid: String, what: String): Array[Double] =
    if (v.size == size) v.toArray
    else if (anySize) {
      val out = new Array[Double](size)
      v.foreachActive((i, x) => if (i < size) out(i) = x)
      out
    } else throw new IllegalArgumentException(s"$uid: $what has ${v.size} features. Expected: $size, the model's " +
      "number of features (or predictDisableShapeCheck=true)")

  /** Reads a model text from any Hadoop path. */
  def readText(path: String): String = {
    val p = new Path(path)
    val fs = p.getFileSystem(SparkSession.active.sparkContext.hadoopConfiguration)
    if (!fs.exists(p)) throw new IllegalArgumentException(s"No LightGBM model file at $path")
    val in = fs.open(p)
    try new String(in.readAllBytes(), UTF_8)
    finally in.close()
  }
}
