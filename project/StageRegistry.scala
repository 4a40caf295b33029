import java.io.File
import java.lang.reflect.Modifier
import java.net.URLClassLoader

/** Writes Java ServiceLoader files from compiled classes, so a new stage is registered by existing. */
object StageRegistry {

  /** For each base type, the public concrete classes under `packagePrefix` in `classDir` that extend it. */
  def scan(classDir: File, classpath: Seq[File], bases: Seq[String], packagePrefix: String)
    : Map[String, Seq[String]] = {
    val urls = (classDir +: classpath).map(_.toURI.toURL).toArray
    val loader = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader)
    try {
      val baseClasses = bases.map(b => b -> loader.loadClass(b))
      val root = classDir.toPath
      val names = sbt.io.PathFinder(classDir).**(sbt.io.GlobFilter("*.class")).get()
        .map(f => root.relativize(f.toPath).toString.stripSuffix(".class").replace(File.separatorChar, '.'))
        .filter(n => n.startsWith(packagePrefix) && !n.contains('$'))
        .sorted
      val concrete = names.map(n => Class.forName(n, false, loader)).filter { c =>
        val m = c.getModifiers
        Modifier.isPublic(m) && !Modifier.isAbstract(m) && !c.isInterface
      }
      baseClasses.map { case (name, base) =>
        name -> concrete.filter(c => base.isAssignableFrom(c)).map(_.getName)
      }.toMap
    } finally loader.close()
  }

  /** Writes one META-INF/services file per base type under `outDir`; returns the files written. */
  def write(outDir: File, found: Map[String, Seq[String]]): Seq[File] =
    found.toSeq.sortBy(_._1).map { case (base, classes) =>
      val f = new File(outDir, s"META-INF/services/$base")
      sbt.io.IO.write(f, classes.map(_ + "\n").mkString)
      f
    }
}
