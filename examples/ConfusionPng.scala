package irbis.examples

import java.nio.file.Path

import irbis.image.OpenCV
import org.bytedeco.javacpp.IntPointer
import org.bytedeco.opencv.global.opencv_core.CV_8UC3
import org.bytedeco.opencv.global.opencv_imgcodecs.imwrite
import org.bytedeco.opencv.global.opencv_imgproc.{
  FILLED,
  FONT_HERSHEY_SIMPLEX,
  LINE_AA,
  LINE_8,
  getTextSize,
  putText,
  rectangle
}
import org.bytedeco.opencv.opencv_core.{Mat, Point, Rect, Scalar}

/**
 * A 2x2 confusion matrix as a PNG: shaded cells (rows true other/leopard, columns predicted) with their counts.
 * Drawn with OpenCV, which the Irbis jar already carries, in its built-in Hershey font: no system fonts needed.
 */
object ConfusionPng {
  private def bgr(r: Int, g: Int, b: Int) = new Scalar(b.toDouble, g.toDouble, r.toDouble, 0.0)
  private val Black = bgr(0, 0, 0)
  private val White = bgr(255, 255, 255)

  def write(cm: Array[Array[Int]], path: Path, title: Seq[String], footer: String): Unit = {
    OpenCV.ensureLoaded()
    val (cell, left, top) = (150, 170, 90)
    val img = new Mat(top + 2 * cell + 60, left + 2 * cell + 20, CV_8UC3, White)
    def text(s: String, x: Int, y: Int, scale: Double, color: Scalar, thickness: Int = 1): Unit =
      putText(img, s, new Point(x, y), FONT_HERSHEY_SIMPLEX, scale, color, thickness, LINE_AA, false)
    val most = math.max(cm.flatten.max, 1)
    for ((line, i) <- title.zipWithIndex) text(line, 10, 20 + 20 * i, 0.45, Black)
    text("predicted:", left - 90, top - 25, 0.45, Black)
    text("other", left + 50, top - 10, 0.45, Black)
    text("snow leopard", left + cell + 25, top - 10, 0.45, Black)
    for (t <- 0 until 2) {
      text(if (t == 0) "true: other" else "true: leopard", 10, top + t * cell + cell / 2 + 5, 0.5, Black)
      for (p <- 0 until 2) {
        val shade = (255 - 200.0 * cm(t)(p) / most).toInt
        val box = new Rect(left + p * cell, top + t * cell, cell, cell)
        rectangle(img, box, bgr(shade, shade, 255), FILLED, LINE_8, 0)
        rectangle(img, box, Black, 1, LINE_8, 0)
        val count = cm(t)(p).toString
        val size = getTextSize(count, FONT_HERSHEY_SIMPLEX, 1.2, 2, new IntPointer(1L))
        text(count, box.x + (cell - size.width) / 2, box.y + (cell + size.height) / 2, 1.2,
          if (shade > 128) Black else White, 2)
      }
    }
    text(footer, 10, top + 2 * cell + 35, 0.45, Black)
    require(imwrite(path.toString, img), s"could not write $path")
  }
}
