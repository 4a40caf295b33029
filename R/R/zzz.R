# sparklyr learns about extensions through register_extension(): at connect time it calls our
# spark_dependencies() for the jar, and ml_load()/ml_fit() read inst/sparkml/class_mapping.json to find the
# R constructor of a JVM stage.
.onLoad <- function(libname, pkgname) {
  sparklyr::register_extension(pkgname)
}

# The jar is built for one Scala binary version and one Spark major version: any other fails later with linkage
# errors far from the cause, so the connection is refused here. Spark 4 exists for Scala 2.13 only, but sparklyr
# 1.9 passes scala_version "2.12" for every Spark >= 3 unless spark_connect() was given one, so "2.12" cannot be
# told from no answer: the Scala of the running JVM is checked again when the first stage is built
# (irbis_check_version()).
spark_dependencies <- function(spark_version, scala_version, ...) {
  irbis_check_versions(spark_version, scala_version)
  jars <- list.files(system.file("java", package = "irbis"), pattern = "[.]jar$", full.names = TRUE)
  if (!length(jars)) {
    stop("The irbis package has no jar in inst/java: it was built without the Irbis assembly jar.", call. = FALSE)
  }
  sparklyr::spark_dependency(jars = jars)
}

irbis_check_versions <- function(spark_version, scala_version) {
  spark <- as.character(spark_version)
  if (!startsWith(spark, "4.")) {
    stop("irbis ", irbis_version, " needs Spark 4.x with Scala 2.13, but this connection runs Spark ", spark,
         ": connect to a Spark 4 installation (spark_connect(spark_home = ...)).", call. = FALSE)
  }
  if (!is.null(scala_version) && !as.character(scala_version) %in% c("2.13", "2.12")) {
    stop("irbis ", irbis_version, " needs Scala 2.13 (as Spark 4 is built), but spark_connect() was given ",
         "scala_version = \"", as.character(scala_version), "\".", call. = FALSE)
  }
  invisible(TRUE)
}
