package irbis.lightgbm

import java.util.concurrent.{Callable, Executors, TimeUnit}

import com.microsoft.ml.lightgbm.{lightgbmlibConstants => C}
import irbis.testkit.SparkSuite
import org.apache.spark.SparkEnv
import org.apache.spark.ml.linalg.Vector

/** The JVM's booster cache with real LightGBM models: bounded, and never freeing a booster that a thread uses. */
class LightGBMBoosterSuite extends SparkSuite {
  private lazy val df = LightGBMData.table(spark).cache()
  private lazy val rows: Array[Vector] = df.select("features").collect().map(_.getAs[Vector](0))

  // Five distinct models: 2 to 6 iterations.
  private lazy val models = (0 until 5).map { i =>
    new LightGBMClassifier().setNumIterations(i + 2).setMinDataInLeaf(5).setNumLeaves(4).setNumThreads(1)
      .setDeterministic(true).fit(df)
  }

  /** Each model's raw score of every row, from a booster loaded on its own (not through the cache). */
  private lazy val expected: IndexedSeq[Array[Double]] = models.map { m =>
    val b = LightGBMBooster.load(m.getNativeModel)
    try b.predict(rows.flatMap(_.toArray), rows.length, C.C_API_PREDICT_RAW_SCORE, 1)
    finally b.free()
  }

  private def scored(m: LightGBMClassificationModel): Array[Double] =
    m.transform(df).select("rawPrediction").collect().map(_.getAs[Vector](0)(1))

  private def task(body: => Unit): Callable[Unit] = () => body

  private def withCacheSize[T](size: String)(f: => T): T = {
    val conf = SparkEnv.get.conf
    val before = conf.getOption(LightGBMBooster.CacheSizeConf)
    conf.set(LightGBMBooster.CacheSizeConf, size)
    try f
    finally before.fold(conf.remove(LightGBMBooster.CacheSizeConf))(conf.set(LightGBMBooster.CacheSizeConf, _))
  }

  /** Once no thread predicts, every booster the cache loaded is either still cached or freed. */
  private def noneAwaitsRelease(): Unit =
    assert(LightGBMBooster.loadedCount - LightGBMBooster.freedCount == LightGBMBooster.cachedCount,
      s"loaded ${LightGBMBooster.loadedCount}, freed ${LightGBMBooster.freedCount}, " +
        s"cached ${LightGBMBooster.cachedCount}")

  test("with boosterCacheSize 2, five models each predict as alone and at most two boosters stay loaded") {
    val e = expected
    withCacheSize("2") {
      val freed = LightGBMBooster.freedCount
      for (_ <- 1 to 2; (m, i) <- models.zipWithIndex) {
        assert(scored(m).sameElements(e(i)), s"model $i")
        assert(m.predictRaw(rows(i))(1) == e(i)(i))
        assert(LightGBMBooster.cachedCount <= 2)
      }
      // Each of the ten rounds after the first two loads a model that two others have pushed out.
      assert(LightGBMBooster.freedCount - freed >= 8)
      noneAwaitsRelease()
    }
  }

  test("a booster in use is not freed when the cache drops it, and is freed when its user releases it") {
    val e = expected
    withCacheSize("1") {
      val freed = models(0).withBooster { held =>
        assert(scored(models(1)).sameElements(e(1)) && scored(models(2)).sameElements(e(2)))
        assert(LightGBMBooster.cachedCount == 1, "models 1 and 2 pushed model 0 out of the cache")
        val freed = LightGBMBooster.freedCount
        assert(held.predict(rows.flatMap(_.toArray), rows.length, C.C_API_PREDICT_RAW_SCORE, 1).sameElements(e(0)))
        assert(LightGBMBooster.freedCount == freed && LightGBMBooster.loadedCount - freed == 2, "0 and 2 are loaded")
        freed
      }
      assert(LightGBMBooster.freedCount == freed + 1, "model 0's booster is freed when its last user releases it")
      noneAwaitsRelease()
      // Model 0's booster was freed on release: loading model 0 again loads a new one.
      val loaded = LightGBMBooster.loadedCount
      assert(models(0).getBoosterNumTotalIterations == 2 && LightGBMBooster.loadedCount == loaded + 1)
    }
  }

  test("many threads predicting with five models through a cache of one booster get each model's predictions") {
    val e = expected
    val importances = models.map(m => LightGBMBooster.load(m.getNativeModel)).map { b =>
      try b.featureImportances("split")
      finally b.free()
    }
    withCacheSize("1") {
      val pool = Executors.newFixedThreadPool(8)
      try {
        val oneRow = (0 until 6).map { t =>
          pool.submit(task {
            val rng = new scala.util.Random(t)
            (0 until 150).foreach { _ =>
              val (i, r) = (rng.nextInt(5), rng.nextInt(rows.length))
              val m = models(i)
              assert(m.predictRaw(rows(r))(1) == e(i)(r), s"model $i row $r")
              assert(math.abs(m.getFeatureShaps(rows(r)).sum - e(i)(r)) < 1e-9)
              assert(m.predictLeaf(rows(r)).size == i + 2)
              assert(m.getFeatureImportances.sameElements(importances(i)) && m.getBoosterNumTotalIterations == i + 2)
            }
          })
        }
        val transforms = (0 until 2).map { t =>
          pool.submit(task {
            (0 until 5).foreach { k =>
              val i = (k + 2 * t) % 5
              assert(scored(models(i)).sameElements(e(i)), s"model $i")
            }
          })
        }
        (oneRow ++ transforms).foreach(_.get(5, TimeUnit.MINUTES))
      } finally pool.shutdownNow()
      assert(LightGBMBooster.cachedCount <= 1)
      noneAwaitsRelease()
    }
  }

  test("a boosterCacheSize that is not a whole number >= 0 is refused naming the setting") {
    withCacheSize("many") {
      val e = intercept[IllegalArgumentException](models(0).getBoosterNumFeatures)
      assert(e.getMessage.contains("spark.irbis.lightgbm.boosterCacheSize is 'many'. Expected: a whole number >= 0"),
        e.getMessage)
    }
  }

  test("a freed booster refuses to predict instead of reading freed memory") {
    val b = LightGBMBooster.load(models(0).getNativeModel)
    b.free()
    val e = intercept[IllegalStateException](b.predict(rows(0).toArray, 1, C.C_API_PREDICT_RAW_SCORE, 1))
    assert(e.getMessage.contains("was freed"), e.getMessage)
  }
}
