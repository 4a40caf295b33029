package irbis.lime

import java.util.Random

/** Background statistics of one feature: numeric (mean and population standard deviation) or categorical. */
sealed trait FeatureStats
final case class NumericStats(mean: Double, std: Double) extends FeatureStats {

  /** A constant feature is scaled by 1, as scikit-learn's StandardScaler does. */
  def scale: Double = if (std > 0 && !std.isNaN) std else 1.0
}
final case class CategoricalStats(values: IndexedSeq[Any], frequencies: IndexedSeq[Double]) extends FeatureStats {
  private val cumulative = { val c = frequencies.scanLeft(0.0)(_ + _).tail; c.map(_ / c.last) }
  def draw(rng: Random): Any = {
    val u = rng.nextDouble()
    values(math.min(cumulative.indexWhere(u < _) match { case -1 => values.length - 1; case i => i },
        values.length - 1))
  }
}

/**
 * LIME's tabular sampling (as the `lime` package's LimeTabularExplainer does it without discretisation and
 * without sampling around the instance): a numeric feature is drawn from N(mean, std^2) of the background
 * data and represented by its standardised value (x - mean) / std; a categorical feature is drawn from the
 * background frequencies and represented by 1 when it equals the row's value, else 0. A sample's distance
 * is the Euclidean distance of its representation from the row's, divided by sqrt(number of features)
 * (so the default kernel width 0.75 is LIME's 0.75 * sqrt(number of features)).
 */
private[lime] object TabularSampling {

  /**
   * @param row      the row's feature values (numbers as Double, categories as stored)
   * @param convert  what each numeric draw becomes before the model sees it (e.g. rounding for integer columns)
   * @return for each sample, the interpretable state, the distance and the feature values to feed the model
   */
  def samples(stats: IndexedSeq[FeatureStats], row: IndexedSeq[Any], n: Int, seed: Long,
              convert: IndexedSeq[Double => Any]): Seq[Perturbed] = {
    val d = stats.length
    val rng = new Random(seed)
    val instance = Array.tabulate(d) { j =>
      stats(j) match {
        case s: NumericStats => (row(j).asInstanceOf[Double] - s.mean) / s.scale
        case _: CategoricalStats => 1.0
      }
    }
    val first = Perturbed(instance, 0.0,
      row.indices.map(j =>
        stats(j) match {
          case _: NumericStats => convert(j)(row(j).asInstanceOf[Double])
          case _ => row(j)
        }))
    first +: (1 until n).map { _ =>
      val state = new Array[Double](d)
      val values = new Array[Any](d)
      var sq = 0.0
      var j = 0
      while (j < d) {
        stats(j) match {
          case s: NumericStats =>
            val v = convert(j)(rng.nextGaussian() * s.scale + s.mean)
            values(j) = v
            state(j) = (toDouble(v) - s.mean) / s.scale
          case c: CategoricalStats =>
            val v = c.draw(rng)
            values(j) = v
            state(j) = if (v == row(j)) 1.0 else 0.0
        }
        val diff = state(j) - instance(j)
        sq += diff * diff
        j += 1
      }
      Perturbed(state, math.sqrt(sq / d), values.toSeq)
    }
  }

  def toDouble(v: Any): Double = v match {
    case x: Double => x
    case x: Float => x.toDouble
    case x: Int => x.toDouble
    case x: Long => x.toDouble
    case x: Short => x.toDouble
    case x: Byte => x.toDouble
    case x: java.math.BigDecimal => x.doubleValue
    case x: scala.math.BigDecimal => x.toDouble
    case other => throw new IllegalArgumentException(s"not a number: $other")
  }
}
