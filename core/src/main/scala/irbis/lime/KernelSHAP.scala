package irbis.lime

import java.util.Random

import scala.collection.mutable

/**
 * The arithmetic of Kernel SHAP (Lundberg and Lee, 2017): which coalitions of features are evaluated, with
 * which Shapley-kernel weights, and the weighted least squares that turns their expected model outputs into
 * SHAP values with the two constraints (the empty coalition gives the base value, the full one the row's output)
 * enforced exactly by eliminating the last feature.
 */
private[lime] object KernelSHAP {

  /** Coalitions as 0/1 masks over the features, with their weights (summing to 1). */
  final case class Coalitions(masks: Array[Array[Boolean]], weights: Array[Double])

  def binomial(n: Int, k: Int): Double = {
    var r = 1.0
    var i = 1
    while (i <= k) { r = r * (n - k + i) / i; i += 1 }
    r
  }

  /** The Shapley kernel of one coalition of `size` out of `m` features: (m-1) / (C(m,size) size (m-size)). */
  def shapleyKernel(m: Int, size: Int): Double = (m - 1).toDouble / (binomial(m, size) * size * (m - size))

  /** Whether every proper, non-empty coalition fits in `budget` evaluations: the values are then exact. */
  def enumerable(m: Int, budget: Int): Boolean = m < 31 && (1L << m) - 2 <= budget

  /**
   * The coalitions evaluated for `m` features within `budget`. When all 2^m - 2 proper non-empty coalitions fit,
   * all of them, each with its kernel weight. Otherwise sizes are taken in pairs (s and m - s, whose kernel mass
   * is equal), the smallest sizes first: a pair whose coalitions all fit in its share of the remaining budget is
   * enumerated; the remaining budget goes to coalitions drawn at random (a size by its kernel mass, then a
   * uniformly random subset of that size, always with its complement), weighted by how often each was drawn
   * so that together they carry the kernel mass of the sizes not enumerated.
   */
  def coalitions(m: Int, budget: Int, seed: Long): Coalitions = {
    require(m >= 2, s"Kernel SHAP needs at least 2 features to sample coalitions, got $m")
    if (enumerable(m, budget)) {
      val all = (1L until (1L << m) - 1).map(bits => Array.tabulate(m)(j => (bits >> j & 1L) == 1L)).toArray
      val w = all.map(mask => shapleyKernel(m, mask.count(identity)))
      val total = w.sum
      return Coalitions(all, w.map(_ / total))
    }
    val pairs = (1 to m / 2).toArray // size s stands for s and m - s (one size when s == m - s)
    val mass = pairs.map(s => (if (2 * s == m) 1.0 else 2.0) * (m - 1).toDouble / (s * (m - s)))
    val totalMass = mass.sum
    val masks = mutable.ArrayBuffer.empty[Array[Boolean]]
    val weights = mutable.ArrayBuffer.empty[Double]
    var left = budget
    var massLeft = totalMass
    var next = 0
    var full = true
    while (full && next < pairs.length) {
      val s = pairs(next)
      val count = binomial(m, s) * (if (2 * s == m) 1 else 2)
      if (left * mass(next) / massLeft >= count - 1e-8) {
        val each = mass(next) / totalMass / count
        subsets(m, s).foreach { mask =>
          masks += mask; weights += each
          if (2 * s != m) { masks += mask.map(!_); weights += each }
        }
        left -= count.toInt
        massLeft -= mass(next)
        next += 1
      } else full = false
    }
    if (next < pairs.length && left > 0) {
      val rng = new Random(seed)
      val rest = pairs.indices.drop(next)
      val cumulative = rest.map(mass).scanLeft(0.0)(_ + _).tail
      val drawn = mutable.LinkedHashMap.empty[Seq[Boolean], Double]
      var tries = 0
      val maxTries = 100 * budget + 1000
      while (drawn.size < left && tries < maxTries) {
        tries += 1
        val u = rng.nextDouble() * cumulative.last
        val s = pairs(rest(math.max(cumulative.indexWhere(u < _), 0)))
        val mask = randomSubset(m, s, rng)
        val key = mask.toSeq
        drawn(key) = drawn.getOrElse(key, 0.0) + 1.0
        if (2 * s != m && drawn.size < left) {
          val complement = mask.map(!_).toSeq
          drawn(complement) = drawn.getOrElse(complement, 0.0) + 1.0
        }
      }
      val drawnTotal = drawn.values.sum
      drawn.foreach { case (mask, n) =>
        masks += mask.toArray; weights += n / drawnTotal * massLeft / totalMass
      }
    }
    val total = weights.sum
    Coalitions(masks.toArray, weights.map(_ / total).toArray)
  }

  private def subsets(m: Int, size: Int): Iterator[Array[Boolean]] = (0 until m).combinations(size).map { chosen =>
    val mask = new Array[Boolean](m); chosen.foreach(mask(_) = true); mask
  }

  private def randomSubset(m: Int, size: Int, rng: Random): Array[Boolean] = {
    val order = Array.range(0, m)
    var i = 0
    while (i < size) {
      val j = i + rng.nextInt(m - i)
      val t = order(i); order(i) = order(j); order(j) = t
      i += 1
    }
    val mask = new Array[Boolean](m)
    (0 until size).foreach(k => mask(order(k)) = true)
    mask
  }

  final case class Solution(values: Array[Double], r2: Double)

  /**
   * SHAP values of one output from the coalitions' expected outputs `ey` (the model averaged over the background
   * with the coalition's features taken from the row), the row's output `fx` and the base value `f0`: the
   * weighted least squares fit of ey - f0 on the masks under sum(values) = fx - f0, solved with the last feature
   * eliminated. r2 is the fit's weighted R^2 over the coalitions (1 when they are all explained exactly).
   */
  def solve(masks: Array[Array[Boolean]], weights: Array[Double], ey: Array[Double], fx: Double,
            f0: Double): Solution = {
    val m = if (masks.isEmpty) 0 else masks(0).length
    val total = fx - f0
    if (m == 0) return Solution(Array.empty, 1.0)
    if (m == 1) return Solution(Array(total), 1.0)
    val d = m - 1
    val a = Array.ofDim[Double](d, d)
    val b = new Array[Double](d)
    val xi = new Array[Double](d)
    var i = 0
    while (i < masks.length) {
      val z = masks(i)
      val last = if (z(d)) 1.0 else 0.0
      var j = 0
      while (j < d) { xi(j) = (if (z(j)) 1.0 else 0.0) - last; j += 1 }
      val yi = ey(i) - f0 - last * total
      val w = weights(i)
      j = 0
      while (j < d) {
        if (xi(j) != 0.0) {
          b(j) += w * xi(j) * yi
          var k = 0
          while (k < d) { a(j)(k) += w * xi(j) * xi(k); k += 1 }
        }
        j += 1
      }
      i += 1
    }
    val head = LocalModel.solveSymmetric(a, b)
    val values = head :+ (total - head.sum)
    Solution(values, r2(masks, weights, ey, f0, values))
  }

  private def r2(masks: Array[Array[Boolean]], weights: Array[Double], ey: Array[Double], f0: Double,
                 values: Array[Double]): Double = {
    val sw = weights.sum
    val mean = masks.indices.map(i => weights(i) * ey(i)).sum / sw
    var ssRes = 0.0
    var ssTot = 0.0
    masks.indices.foreach { i =>
      var fit = f0
      var j = 0
      while (j < values.length) { if (masks(i)(j)) fit += values(j); j += 1 }
      ssRes += weights(i) * (ey(i) - fit) * (ey(i) - fit)
      ssTot += weights(i) * (ey(i) - mean) * (ey(i) - mean)
    }
    // A target that does not vary over the coalitions: 1 when fitted exactly, else 0 (as scikit-learn's r2_score).
    val tiny = 1e-20 * (1.0 + masks.indices.map(i => weights(i) * ey(i) * ey(i)).sum)
    if (ssTot <= tiny) (if (ssRes <= tiny) 1.0 else 0.0)
    else 1.0 - ssRes / ssTot
  }
}
