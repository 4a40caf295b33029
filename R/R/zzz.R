# sparklyr learns about extensions through register_extension(): at connect time it calls our
# spark_dependencies() for the jar, and ml_load()/ml_fit() read inst/sparkml/class_mapping.json to find the
# R constructor of a JVM stage.
.onLoad <- function(libname, pkgname) {
  sparklyr::register_extension(pkgname)
}

spark_dependencies <- function(spark_version, scala_version, ...) {
  if (!startsWith(as.character(spark_version), "4.")) {
    warning("irbis ", irbis_version, " is built for Spark 4 (Scala 2.13); this connection runs Spark ",
            spark_version, ".", call. = FALSE)
  }
  jars <- list.files(system.file("java", package = "irbis"), pattern = "[.]jar$", full.names = TRUE)
  if (!length(jars)) {
    stop("The irbis package has no jar in inst/java: it was built without the Irbis assembly jar.", call. = FALSE)
  }
  sparklyr::spark_dependency(jars = jars)
}
