package irbis.core

import java.util.Properties

/** The one Irbis version, stamped into the jar at build time (resource `irbis/version.properties`). */
object Version {
  private lazy val props: Properties = {
    val p = new Properties()
    val in = getClass.getClassLoader.getResourceAsStream("irbis/version.properties")
    require(in != null, "irbis/version.properties is missing from the Irbis jar: the jar was not built by sbt")
    try p.load(in)
    finally in.close()
    p
  }

  def value: String = props.getProperty("version")
  def spark: String = props.getProperty("spark")
  def scala: String = props.getProperty("scala")
}
