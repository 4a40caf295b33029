package irbis.image

import org.bytedeco.javacpp.Loader
import org.bytedeco.opencv.global.{opencv_core, opencv_imgcodecs, opencv_imgproc}

/**
 * OpenCV's native libraries, loaded once per JVM on first use. The bytedeco Loader extracts them from the
 * jar (the Irbis assembly carries the linux-x86_64 builds) into its cache, so an executor needs no set-up;
 * a Scala object's initialiser runs exactly once even when several task threads race for it.
 */
object OpenCV {

  /**
   * OpenCV's own thread pool per call. Spark already runs one task per core, so a pool inside every task
   * would only oversubscribe the cores; override with the JVM property `irbis.opencv.threads`.
   */
  val threads: Int = sys.props.get("irbis.opencv.threads").map(_.trim.toInt).getOrElse(1)

  private lazy val loaded: String = {
    try {
      Loader.load(classOf[opencv_core])
      Loader.load(classOf[opencv_imgproc])
      Loader.load(classOf[opencv_imgcodecs])
    } catch {
      case e: Throwable => throw new IllegalStateException(
          s"Could not load OpenCV's native libraries for ${Loader.getPlatform} (Irbis ships linux-x86_64 only): " +
            e.getMessage, e)
    }
    opencv_core.setNumThreads(threads)
    opencv_core.CV_VERSION
  }

  /** Loads the natives if this JVM has not yet; returns OpenCV's version. */
  def ensureLoaded(): String = loaded
}
