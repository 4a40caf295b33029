package irbis.lightgbm

import java.util.concurrent.locks.ReentrantReadWriteLock

import com.microsoft.ml.lightgbm.{lightgbmlib => lib, lightgbmlibConstants => C, SWIGTYPE_p_void}
import irbis.core.RefCountedCache
import org.apache.spark.SparkEnv

/**
 * A trained LightGBM model in this JVM: its native booster, loaded from the model text and shared by every task
 * thread (LightGBM's predictions take a shared lock, so threads predict concurrently) through the JVM's bounded
 * cache ([[LightGBMBooster.withBooster]]). Predictions go through LightGBM's own matrix calls a batch of rows at a
 * time.
 */
final class LightGBMBooster private (val modelText: String, handle: SWIGTYPE_p_void) {
  private def call(what: String)(f: => Int): Unit = LightGBMNative.check(f, what)

  // The cache never frees a booster in use; the lock makes a wrong caller fail with an error instead of reading
  // freed native memory: calls share it, free waits for them.
  private val lock = new ReentrantReadWriteLock()
  private var freed = false

  private def native[T](f: => T): T = {
    lock.readLock().lock()
    try {
      if (freed) throw new IllegalStateException("This LightGBM booster was freed. Expected: a booster held through " +
        "LightGBMBooster.withBooster")
      f
    } finally lock.readLock().unlock()
  }

  /** Frees the native booster; for boosters from [[LightGBMBooster.load]] (the cache frees its own). */
  def free(): Unit = {
    lock.writeLock().lock()
    try if (!freed) { freed = true; lib.LGBM_BoosterFree(handle) }
    finally lock.writeLock().unlock()
  }

  val numClasses: Int = intOut(p => lib.LGBM_BoosterGetNumClasses(handle, p), "LGBM_BoosterGetNumClasses")
  val numFeatures: Int = intOut(p => lib.LGBM_BoosterGetNumFeature(handle, p), "LGBM_BoosterGetNumFeature")
  val numIterations: Int =
    intOut(p => lib.LGBM_BoosterGetCurrentIteration(handle, p), "LGBM_BoosterGetCurrentIteration")
  val numTrees: Int = intOut(p => lib.LGBM_BoosterNumberOfTotalModel(handle, p), "LGBM_BoosterNumberOfTotalModel")

  /** The `objective=` line of the model text, e.g. `binary sigmoid:1` or `multiclass num_class:3`. */
  val objective: String = modelText.linesIterator.find(_.startsWith("objective=")).map(_.stripPrefix("objective="))
    .getOrElse("")
  val objectiveName: String = objective.split(' ').headOption.getOrElse("")
  val sigmoid: Double =
    objective.split(' ').collectFirst { case s if s.startsWith("sigmoid:") => s.stripPrefix("sigmoid:").toDouble }
      .getOrElse(1.0)

  private def intOut(f: com.microsoft.ml.lightgbm.SWIGTYPE_p_int => Int, what: String): Int = {
    val p = lib.new_intp()
    try { call(what)(f(p)); lib.intp_value(p) }
    finally lib.delete_intp(p)
  }

  /** LightGBM's feature importances: "split" (times a feature is used) or "gain" (total gain of its splits). */
  def featureImportances(kind: String): Array[Double] = {
    val t = kind match {
      case "split" => C.C_API_FEATURE_IMPORTANCE_SPLIT
      case "gain" => C.C_API_FEATURE_IMPORTANCE_GAIN
      case other => throw new IllegalArgumentException(
          s"importance type '$other'. Expected: split or gain")
    }
    val out = lib.new_doubleArray(math.max(numFeatures, 1).toLong)
    try {
      native(call("LGBM_BoosterFeatureImportance")(lib.LGBM_BoosterFeatureImportance(handle, -1, t, out)))
      LightGBMNative.readDoubles(out, numFeatures)
    } finally lib.delete_doubleArray(out)
  }

  /** Adds this model's trees before those of `other` (a booster being trained), as LGBM_BoosterMerge does. */
  private[lightgbm] def mergeInto(other: SWIGTYPE_p_void): Int = native(lib.LGBM_BoosterMerge(other, handle))

  /** How many values one row gives for a kind of prediction, with the trees of iterations `start` on (`count` of them, <= 0: all). */
  def widthOf(predictType: Int, start: Int = 0, count: Int = -1): Int = predictType match {
    case C.C_API_PREDICT_CONTRIB => (numFeatures + 1) * numClasses
    case C.C_API_PREDICT_LEAF_INDEX => iterationsUsed(start, count) * (numTrees / math.max(1, numIterations))
    case _ => numClasses
  }

  private def iterationsUsed(start: Int, count: Int): Int = {
    val rest = math.max(0, numIterations - start)
    if (count <= 0) rest else math.min(count, rest)
  }

  /**
   * Predicts `rows` dense rows (row-major in `values`, `numFeatures` each) with LightGBM's matrix call, with the
   * trees of iterations `start` on (`count` of them; <= 0: all the rest): `width` values per row, row after row.
   */
  def predict(values: Array[Double], rows: Int, predictType: Int, threads: Int, start: Int = 0,
              count: Int = -1): Array[Double] = {
    if (start >= numIterations && numIterations > 0) throw new IllegalArgumentException(
      s"startIteration $start, but the model holds $numIterations iterations. Expected: less than $numIterations")
    val width = widthOf(predictType, start, count)
    val data = LightGBMNative.doubles(Iterator((values, rows * numFeatures)), rows.toLong * numFeatures)
    val out = lib.new_doubleArray(math.max(rows.toLong * width, 1L))
    val len = lib.new_int64_tp()
    try {
      native(call("LGBM_BoosterPredictForMat")(lib.LGBM_BoosterPredictForMat(handle, LightGBMNative.voidOf(data),
            C.C_API_DTYPE_FLOAT64, rows, numFeatures, 1, predictType, start, count, s"num_threads=$threads", len, out)))
      val n = lib.int64_tp_value(len)
      if (n != rows.toLong * width) throw new LightGBMException(
        s"LightGBM returned $n values for $rows rows; expected ${rows.toLong * width}")
      LightGBMNative.readDoubles(out, rows * width)
    } finally {
      lib.delete_doubleArray(data)
      lib.delete_doubleArray(out)
      lib.delete_int64_tp(len)
    }
  }
}

object LightGBMBooster {

  /**
   * How many boosters each JVM (the driver, every executor) keeps loaded for later predictions: beyond it the least
   * recently used is freed once no task predicts with it. 0: a booster is freed as soon as no task uses it. Read
   * from the JVM's Spark configuration (set it when the session starts).
   */
  val CacheSizeConf = "spark.irbis.lightgbm.boosterCacheSize"
  val DefaultCacheSize = 16

  private val cache = new RefCountedCache[String, LightGBMBooster](() => cacheSize, _.free())

  Runtime.getRuntime.addShutdownHook(new Thread(() => cache.clear()))

  private[lightgbm] def cacheSize: Int = Option(SparkEnv.get).flatMap(_.conf.getOption(CacheSizeConf)) match {
    case None => DefaultCacheSize
    case Some(v) => v.trim.toIntOption.filter(_ >= 0).getOrElse(throw new IllegalArgumentException(
          s"$CacheSizeConf is '$v'. Expected: a whole number >= 0, the LightGBM boosters each JVM keeps loaded"))
  }

  /**
   * Runs `f` with this JVM's booster of the model text whose hash is `key` (loaded if the cache has none); the
   * booster is not freed before `f` returns (and is not to be used after).
   */
  def withBooster[T](key: String, modelText: => String)(f: LightGBMBooster => T): T =
    cache.use(key)(load(modelText))(f)

  /** The booster of `key`, held until the lease is released (for iterators that outlive a call). */
  private[lightgbm] def acquire(key: String, modelText: => String): RefCountedCache.Lease[LightGBMBooster] =
    cache.acquire(key)(load(modelText))

  /** Loads a model text into a booster that the caller frees (`free`); for checks that must not stay cached. */
  def load(modelText: String): LightGBMBooster = {
    LightGBMNative.ensureLoaded()
    val iterations = lib.new_intp()
    val out = lib.voidpp_handle()
    try {
      LightGBMNative.check(lib.LGBM_BoosterLoadModelFromString(modelText, iterations, out),
        "This text is not a LightGBM model (LGBM_BoosterLoadModelFromString)")
      new LightGBMBooster(modelText, lib.voidpp_value(out))
    } finally {
      lib.delete_intp(iterations)
      lib.delete_voidpp(out)
    }
  }

  /** How many boosters this JVM's cache holds (at most the cache size). */
  def cachedCount: Int = cache.size

  /** How many boosters the cache has loaded, and freed, in this JVM: tests use them to prove eviction frees. */
  def loadedCount: Long = cache.openedCount
  def freedCount: Long = cache.closedCount
}
