package irbis.lime

import irbis.image.{OpenCV, SparkImage}
import org.apache.spark.sql.Row
import org.bytedeco.opencv.global.opencv_core.CV_32F
import org.bytedeco.opencv.global.opencv_imgproc._
import org.bytedeco.opencv.opencv_core.Mat

/** A segmentation: `labels(y * width + x)` is the segment (0 until count) of pixel (x, y). */
final case class Segmentation(height: Int, width: Int, count: Int, labels: Array[Int])

/**
 * SLIC superpixels (Achanta et al., "SLIC Superpixels Compared to State-of-the-art Superpixel Methods", 2012):
 *  1. The image is converted to CIELAB (OpenCV's float conversion: L in 0..100, a and b about -128..127).
 *  2. Cluster centres start on a regular grid of round(H / cellSize) x round(W / cellSize) cells (at least 1 x 1),
 *     each at its cell's centre, moved to the lowest-gradient pixel of its 3 x 3 neighbourhood.
 *  3. Ten iterations of local k-means: each centre claims the pixels within one grid step S of it (a 2S x 2S
 *     window) whose distance D^2 = dLab^2 + (dxy / S)^2 * modifier^2 is smallest; centres move to the mean
 *     colour and position of their pixels. `modifier` (SLIC's compactness m) trades colour for shape.
 *  4. Connectivity is enforced: scanning in raster order, every 4-connected piece of a segment becomes its own
 *     segment, except that a piece smaller than a quarter of a cell (S^2 / 4 pixels) joins the segment of the
 *     already-scanned pixel next to its first pixel. Segments are numbered in raster order of their first pixel.
 * The result is deterministic (no randomness), so every run on the same pixels gives the same segments.
 */
object Slic {
  def segment(image: Row, cellSize: Double, modifier: Double, iterations: Int = 10): Segmentation = {
    val (h, w, lab) = labPixels(image)
    segmentLab(h, w, lab, cellSize, modifier, iterations)
  }

  /** The pixels as interleaved L, a, b floats, row-major. */
  def labPixels(image: Row): (Int, Int, Array[Float]) = {
    OpenCV.ensureLoaded()
    val m = SparkImage.toMat(image)
    val bgr = new Mat()
    m.channels() match {
      case 1 => cvtColor(m, bgr, COLOR_GRAY2BGR)
      case 4 => cvtColor(m, bgr, COLOR_BGRA2BGR)
      case _ => m.copyTo(bgr)
    }
    val f = new Mat()
    bgr.convertTo(f, CV_32F, 1.0 / 255, 0)
    val lab = new Mat()
    cvtColor(f, lab, COLOR_BGR2Lab)
    (lab.rows(), lab.cols(), SparkImage.floats(lab))
  }

  /** Superpixels per image when cellSize is 0 (the default): far fewer than LIME's samples, whatever the image size. */
  val AutoSegments = 40

  /** The cell side for an H x W image: cellSize itself, or for 0 the side that gives about AutoSegments cells. */
  def cellSide(h: Int, w: Int, cellSize: Double): Double =
    if (cellSize > 0) cellSize else math.max(1.0, math.sqrt(h.toDouble * w / AutoSegments))

  def segmentLab(h: Int, w: Int, lab: Array[Float], cellSize0: Double, modifier: Double, iterations: Int)
    : Segmentation = {
    val cellSize = cellSide(h, w, cellSize0)
    val ny = math.max(1, math.round(h / cellSize).toInt)
    val nx = math.max(1, math.round(w / cellSize).toInt)
    val stepY = h.toDouble / ny
    val stepX = w.toDouble / nx
    val s = math.max(stepX, stepY)
    val k = nx * ny
    // centre: L, a, b, y, x
    val c = Array.ofDim[Double](k, 5)
    def grad(y: Int, x: Int): Double = {
      def px(yy: Int, xx: Int, ch: Int): Double =
        lab((math.min(math.max(yy, 0), h - 1) * w + math.min(math.max(xx, 0), w - 1)) * 3 + ch)
      (0 until 3).map { ch =>
        val dx = px(y, x + 1, ch) - px(y, x - 1, ch); val dy = px(y + 1, x, ch) - px(y - 1, x, ch)
        dx * dx + dy * dy
      }.sum
    }
    for (i <- 0 until ny; j <- 0 until nx) {
      val y0 = math.min(h - 1, ((i + 0.5) * stepY).toInt); val x0 = math.min(w - 1, ((j + 0.5) * stepX).toInt)
      var (by, bx, bg) = (y0, x0, grad(y0, x0))
      for (dy <- -1 to 1; dx <- -1 to 1) {
        val (yy, xx) = (y0 + dy, x0 + dx)
        if (yy >= 0 && yy < h && xx >= 0 && xx < w) { val g = grad(yy, xx); if (g < bg) { by = yy; bx = xx; bg = g } }
      }
      val p = (by * w + bx) * 3
      c(i * nx + j) = Array(lab(p), lab(p + 1), lab(p + 2), by.toDouble, bx.toDouble)
    }
    val labels = Array.fill(h * w)(-1)
    val best = new Array[Double](h * w)
    val m2s2 = modifier * modifier / (s * s)
    val window = math.ceil(s).toInt
    for (_ <- 0 until iterations) {
      java.util.Arrays.fill(best, Double.MaxValue)
      var ci = 0
      while (ci < k) {
        val cc = c(ci)
        val yLo = math.max(0, (cc(3) - window).toInt); val yHi = math.min(h - 1, (cc(3) + window).toInt)
        val xLo = math.max(0, (cc(4) - window).toInt); val xHi = math.min(w - 1, (cc(4) + window).toInt)
        var y = yLo
        while (y <= yHi) {
          var x = xLo
          while (x <= xHi) {
            val idx = y * w + x; val p = idx * 3
            val dl = lab(p) - cc(0); val da = lab(p + 1) - cc(1); val db = lab(p + 2) - cc(2)
            val dy = y - cc(3); val dx = x - cc(4)
            val d = dl * dl + da * da + db * db + (dx * dx + dy * dy) * m2s2
            if (d < best(idx)) { best(idx) = d; labels(idx) = ci }
            x += 1
          }
          y += 1
        }
        ci += 1
      }
      val sums = Array.ofDim[Double](k, 6)
      var idx = 0
      while (idx < h * w) {
        val l = labels(idx)
        if (l >= 0) {
          val p = idx * 3; val sm = sums(l)
          sm(0) += lab(p); sm(1) += lab(p + 1); sm(2) += lab(p + 2); sm(3) += idx / w; sm(4) += idx % w; sm(5) += 1
        }
        idx += 1
      }
      for (i <- 0 until k if sums(i)(5) > 0) (0 until 5).foreach(f => c(i)(f) = sums(i)(f) / sums(i)(5))
    }
    // A pixel no window reached (impossible with windows of one grid step, but cheap to rule out) joins segment 0.
    (0 until h * w).foreach(i => if (labels(i) < 0) labels(i) = 0)
    enforceConnectivity(h, w, labels, math.max(1, (s * s / 4).toInt))
  }

  def enforceConnectivity(h: Int, w: Int, labels: Array[Int], minSize: Int): Segmentation = {
    val out = Array.fill(h * w)(-1)
    val queue = new Array[Int](h * w)
    var next = 0
    var start = 0
    while (start < h * w) {
      if (out(start) < 0) {
        val y0 = start / w; val x0 = start % w
        // The segment of an already-numbered neighbour (left or above: scanned before this pixel).
        val adjacent = if (x0 > 0) out(start - 1) else if (y0 > 0) out(start - w) else -1
        val original = labels(start)
        out(start) = next
        var head = 0; var tail = 0
        queue(tail) = start; tail += 1
        while (head < tail) {
          val p = queue(head); head += 1
          val y = p / w; val x = p % w
          def visit(q: Int): Unit =
            if (out(q) < 0 && labels(q) == original) { out(q) = next; queue(tail) = q; tail += 1 }
          if (x > 0) visit(p - 1)
          if (x < w - 1) visit(p + 1)
          if (y > 0) visit(p - w)
          if (y < h - 1) visit(p + w)
        }
        if (tail < minSize && adjacent >= 0) {
          var i = 0
          while (i < tail) { out(queue(i)) = adjacent; i += 1 }
        } else next += 1
      }
      start += 1
    }
    Segmentation(h, w, next, out)
  }
}
