package irbis.lime

/**
 * The local surrogate of LIME: a weighted ridge regression with an unpenalised intercept, fitted exactly
 * as scikit-learn's `Ridge(alpha).fit(X, y, sample_weight=w)` (centre X and y on their weighted means,
 * solve (Xc' W Xc + alpha I) b = Xc' W yc, intercept = mean(y) - mean(X) b), and its weighted R^2 as
 * `Ridge.score(X, y, sample_weight=w)` reports it.
 */
object LocalModel {
  final case class Fit(coefficients: Array[Double], intercept: Double, r2: Double)

  /** LIME's exponential kernel: sqrt(exp(-d^2 / width^2)). */
  def kernel(distance: Double, width: Double): Double = math.sqrt(math.exp(-(distance * distance) / (width * width)))

  def fit(x: Array[Array[Double]], y: Array[Double], w: Array[Double], alpha: Double): Fit = {
    val n = x.length
    require(n > 0 && y.length == n && w.length == n,
      s"expected as many samples, labels and weights, got $n, ${y.length}, ${w.length}")
    val d = x(0).length
    val sw = w.sum
    require(sw > 0,
      "the sample weights add up to 0: every perturbed sample is too far from the instance for the kernel width")
    val xm = new Array[Double](d)
    var ym = 0.0
    var i = 0
    while (i < n) {
      val xi = x(i); val wi = w(i)
      var j = 0
      while (j < d) { xm(j) += wi * xi(j); j += 1 }
      ym += wi * y(i)
      i += 1
    }
    var j0 = 0
    while (j0 < d) { xm(j0) /= sw; j0 += 1 }
    ym /= sw

    val a = Array.ofDim[Double](d, d)
    val b = new Array[Double](d)
    val xc = new Array[Double](d)
    i = 0
    while (i < n) {
      val xi = x(i); val wi = w(i); val yc = y(i) - ym
      var j = 0
      while (j < d) { xc(j) = xi(j) - xm(j); j += 1 }
      j = 0
      while (j < d) {
        val wx = wi * xc(j)
        b(j) += wx * yc
        val row = a(j)
        var k = 0
        while (k <= j) { row(k) += wx * xc(k); k += 1 }
        j += 1
      }
      i += 1
    }
    var j = 0
    while (j < d) {
      var k = 0
      while (k < j) { a(k)(j) = a(j)(k); k += 1 }
      a(j)(j) += alpha
      j += 1
    }
    val coef = solveSymmetric(a, b)
    val intercept = ym - dot(xm, coef)

    var ssRes = 0.0
    var ssTot = 0.0
    i = 0
    while (i < n) {
      val r = y(i) - (intercept + dot(x(i), coef))
      val t = y(i) - ym
      ssRes += w(i) * r * r
      ssTot += w(i) * t * t
      i += 1
    }
    // scikit-learn's r2_score with force_finite: a constant target scores 1 when fitted exactly, else 0.
    val r2 = if (ssTot == 0.0) (if (ssRes == 0.0) 1.0 else 0.0) else 1.0 - ssRes / ssTot
    Fit(coef, intercept, r2)
  }

  private def dot(a: Array[Double], b: Array[Double]): Double = {
    var s = 0.0; var i = 0
    while (i < a.length) { s += a(i) * b(i); i += 1 }
    s
  }

  /**
   * Solves A x = b for a symmetric positive semi-definite A by Gaussian elimination with partial pivoting;
   * a direction with no information (a zero pivot, possible only when alpha is 0) gets a zero coefficient,
   * as a minimum-norm least-squares solution would for a feature that never varies.
   */
  private[lime] def solveSymmetric(a0: Array[Array[Double]], b0: Array[Double]): Array[Double] = {
    val d = b0.length
    val a = a0.map(_.clone()); val b = b0.clone()
    val scale = (0 until d).map(i => math.abs(a(i)(i))).foldLeft(0.0)(math.max)
    val tiny = 1e-12 * math.max(scale, 1e-300)
    val pivotOf = Array.fill(d)(-1)
    val used = new Array[Boolean](d)
    for (col <- 0 until d) {
      var best = -1; var bestAbs = tiny
      for (r <- 0 until d if !used(r)) { val v = math.abs(a(r)(col)); if (v > bestAbs) { best = r; bestAbs = v } }
      if (best >= 0) {
        used(best) = true; pivotOf(col) = best
        val p = a(best)(col)
        for (r <- 0 until d if r != best) {
          val f = a(r)(col) / p
          if (f != 0.0) {
            var k = col
            while (k < d) { a(r)(k) -= f * a(best)(k); k += 1 }
            b(r) -= f * b(best)
          }
        }
      }
    }
    Array.tabulate(d)(col => if (pivotOf(col) < 0) 0.0 else b(pivotOf(col)) / a(pivotOf(col))(col))
  }
}
