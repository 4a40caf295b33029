package irbis.lightgbm

import java.nio.file.{Files, StandardCopyOption}

import scala.reflect.ClassTag
import scala.util.control.NonFatal

import com.microsoft.ml.lightgbm.{
  lightgbmlib => lib,
  SWIGTYPE_p_double,
  SWIGTYPE_p_float,
  SWIGTYPE_p_int,
  SWIGTYPE_p_void
}
import org.apache.spark.unsafe.Platform

/** A LightGBM C API call failed; the message is LightGBM's own, prefixed with what Irbis was doing. */
class LightGBMException(message: String, cause: Throwable = null) extends RuntimeException(message, cause)

/**
 * LightGBM's native library, loaded once per JVM (driver and each executor) from the jar that carries it, and
 * the few primitives the rest of the package builds on: error checking, and moving primitive arrays in and out
 * of native memory with one copy each instead of one JNI call per element.
 */
object LightGBMNative {
  private val Resources = "/com/microsoft/ml/lightgbm/linux/x86_64/"
  // lib_lightgbm first: the SWIG library names it as a dependency by its soname.
  private val Libraries = Seq("lib_lightgbm.so", "lib_lightgbm_swig.so")

  private lazy val loaded: Either[Throwable, Unit] =
    try Right(load())
    catch {
      case NonFatal(e) => Left(e)
      case e: UnsatisfiedLinkError => Left(e)
    }

  /** Loads the natives if this JVM has not yet; fails with what was tried and why. */
  def ensureLoaded(): Unit = loaded match {
    case Right(_) =>
    case Left(e) => throw new LightGBMException(
        s"LightGBM's native library could not be loaded in this JVM (os.name=${System.getProperty("os.name")}, " +
          s"os.arch=${System.getProperty("os.arch")}; Irbis ships LightGBM ${LightGBMNative.Version} for linux x86_64 " +
          s"only, from the jar com.microsoft.ml.lightgbm:lightgbmlib): $e", e)
  }

  /** The LightGBM version of the natives, which is also the version of the parity reference (Python's lightgbm). */
  val Version = "3.3.5"

  private def load(): Unit = {
    val os = System.getProperty("os.name", "").toLowerCase
    val arch = System.getProperty("os.arch", "")
    if (!os.contains("linux") || !(arch == "amd64" || arch == "x86_64"))
      throw new UnsupportedOperationException(s"no LightGBM natives for $os/$arch in this build")
    val dir = Files.createTempDirectory("irbis-lightgbm-")
    dir.toFile.deleteOnExit()
    Libraries.foreach { name =>
      val in = getClass.getResourceAsStream(Resources + name)
      if (in == null)
        throw new IllegalStateException(s"$Resources$name is not on the classpath (is lightgbmlib in the jar?)")
      val target = dir.resolve(name)
      try Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING)
      finally in.close()
      target.toFile.deleteOnExit()
      System.load(target.toString)
    }
  }

  /** Checks a C API return code; LightGBM keeps the reason of the last failure per thread. */
  def check(rc: Int, what: => String): Unit =
    if (rc != 0) throw new LightGBMException(s"$what: ${lib.LGBM_GetLastError()}")

  // SWIG's pointer wrappers keep their address in a protected field; the one copy in and out needs it.
  private def address(cls: Class[_], p: AnyRef): Long = {
    val m = cls.getDeclaredMethod("getCPtr", cls)
    m.setAccessible(true)
    m.invoke(null, p).asInstanceOf[Long]
  }
  def addressOf(p: SWIGTYPE_p_double): Long = address(classOf[SWIGTYPE_p_double], p)
  def addressOf(p: SWIGTYPE_p_float): Long = address(classOf[SWIGTYPE_p_float], p)
  def addressOf(p: SWIGTYPE_p_int): Long = address(classOf[SWIGTYPE_p_int], p)

  /** A native double array holding `chunks` one after another (`total` values in all); the caller frees it. */
  def doubles(chunks: Iterator[(Array[Double], Int)], total: Long): SWIGTYPE_p_double = {
    val p = lib.new_doubleArray(math.max(total, 1L))
    var at = addressOf(p)
    chunks.foreach { case (a, n) =>
      Platform.copyMemory(a, Platform.DOUBLE_ARRAY_OFFSET, null, at, n.toLong * 8)
      at += n.toLong * 8
    }
    p
  }

  def floats(a: Array[Float], n: Int): SWIGTYPE_p_float = {
    val p = lib.new_floatArray(math.max(n, 1).toLong)
    Platform.copyMemory(a, Platform.FLOAT_ARRAY_OFFSET, null, addressOf(p), n.toLong * 4)
    p
  }

  def ints(chunks: Iterator[(Array[Int], Int)], total: Long): SWIGTYPE_p_int = {
    val p = lib.new_intArray(math.max(total, 1L))
    var at = addressOf(p)
    chunks.foreach { case (a, n) =>
      Platform.copyMemory(a, Platform.INT_ARRAY_OFFSET, null, at, n.toLong * 4)
      at += n.toLong * 4
    }
    p
  }

  def readDoubles(p: SWIGTYPE_p_double, n: Int): Array[Double] = {
    val out = new Array[Double](n)
    Platform.copyMemory(null, addressOf(p), out, Platform.DOUBLE_ARRAY_OFFSET, n.toLong * 8)
    out
  }

  def voidOf(p: SWIGTYPE_p_double): SWIGTYPE_p_void = lib.double_to_voidp_ptr(p)
  def voidOf(p: SWIGTYPE_p_float): SWIGTYPE_p_void = lib.float_to_voidp_ptr(p)
  def voidOf(p: SWIGTYPE_p_int): SWIGTYPE_p_void = lib.int_to_voidp_ptr(p)

  /**
   * Every parameter name and alias LightGBM knows, each with its LightGBM name (a name maps to itself), for checking
   * passThroughArgs (see the resource's header).
   */
  lazy val parameterNames: Map[String, String] = {
    val in = getClass.getResourceAsStream("/irbis/lightgbm/parameters.txt")
    try
      scala.io.Source.fromInputStream(in, "UTF-8").getLines().map(_.trim).filter(l => l.nonEmpty && !l.startsWith("#"))
        .flatMap { line =>
          val names = line.split("\\s+")
          names.map(_ -> names.head)
        }.toMap
    finally in.close()
  }
}

/**
 * A growable primitive column in fixed-size chunks: a partition's values without boxing and without the copies of
 * regrowing one array. `Chunks[Double]` and `Chunks[Int]` are specialized (plain double and int arrays).
 */
final class Chunks[@specialized(Int, Double) T: ClassTag](chunkSize: Int = 1 << 20) {
  private val chunks = scala.collection.mutable.ArrayBuffer(new Array[T](chunkSize))
  private var used = 0
  var size = 0L
  def add(v: T): Unit = {
    if (used == chunkSize) { chunks += new Array[T](chunkSize); used = 0 }
    chunks.last(used) = v
    used += 1
    size += 1
  }

  /** The chunks with how many values each holds. */
  def iterator: Iterator[(Array[T], Int)] =
    chunks.iterator.zipWithIndex.map { case (a, i) => (a, if (i == chunks.size - 1) used else chunkSize) }
  def toArray: Array[T] = {
    require(size <= Int.MaxValue - 16, s"$size values do not fit one JVM array")
    val out = new Array[T](size.toInt)
    var at = 0
    iterator.foreach { case (a, n) => System.arraycopy(a, 0, out, at, n); at += n }
    out
  }
}
