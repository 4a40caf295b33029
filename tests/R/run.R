#!/usr/bin/env Rscript
# Runs the R tests on real sparklyr. The built package (dist/irbis_<version>.tar.gz) is installed with
# R CMD INSTALL into a private library, loaded with library(sparklyr); library(irbis), and one connection is made
# with spark_connect() for the whole run: the Irbis jar arrives through the package's own spark_dependencies().
# Prints a last line "R: N passed, N failed, N skipped" and exits 1 when anything failed.
#
# sparklyr (>= 1.9.0) must be installed: the Makefile's test-r puts ~/.cache/irbis/R-lib (where .ci/run installs
# it with ../shared/vendor/r/install.sh) on R_LIBS.
#
# Inputs (defaults relative to the repository root; override with environment variables):
#   IRBIS_R_TARBALL        dist/irbis_<VERSION>.tar.gz
#   IRBIS_MANIFEST         build/generated/manifest.json
#   IRBIS_R_PACKAGE        build/generated/R/irbis            (the package's source, for the codegen and check tests)
#   IRBIS_TEST_MANIFEST    build/generated-test/manifest.json (test-only stages)
#   IRBIS_R_TEST_PACKAGE   build/generated-test/R/irbis       (their R wrappers, loaded over the installed package)
#   IRBIS_TEST_JAR         build/jars/irbis-tests.jar         (the JVM test kit: examples, frame comparison)
#   SPARK_HOME             default: the pyspark package folder of .venv
#   IRBIS_R_NO_JVM=1       development only: skip the tests that need Spark
#   IRBIS_R_FILTER         development only: a regular expression on test file names (e.g. "image" for test-image.R)

script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1])
root <- normalizePath(file.path(dirname(normalizePath(script)), "..", ".."))
from_env <- function(name, default) {
  value <- Sys.getenv(name, "")
  path <- if (nzchar(value)) value else default
  if (grepl("^/", path)) path else file.path(root, path)
}

finish <- function(passed, failed, skipped) {
  cat(sprintf("R: %d passed, %d failed, %d skipped\n", passed, failed, skipped))
  quit(status = if (failed > 0) 1L else 0L, save = "no")
}

r_cmd <- function(args, wd = getwd()) {
  old <- setwd(wd)
  on.exit(setwd(old))
  output <- suppressWarnings(system2(file.path(R.home("bin"), "R"), c("CMD", args), stdout = TRUE, stderr = TRUE))
  status <- attr(output, "status")
  if (!is.null(status) && status != 0) stop("R CMD ", args[[1]], " failed:\n", paste(tail(output, 20), collapse = "\n"))
  invisible(output)
}

spark_home <- function() {
  home <- Sys.getenv("SPARK_HOME", "")
  if (nzchar(home)) return(home)
  python <- file.path(root, ".venv", "bin", "python")
  system2(python, c("-c", shQuote("import pyspark, os; print(os.path.dirname(pyspark.__file__))")), stdout = TRUE)
}

setup <- function() {
  version <- trimws(readLines(file.path(root, "VERSION")))
  tarball <- from_env("IRBIS_R_TARBALL", file.path("dist", paste0("irbis_", version, ".tar.gz")))
  manifest_path <- from_env("IRBIS_MANIFEST", "build/generated/manifest.json")
  package_dir <- from_env("IRBIS_R_PACKAGE", "build/generated/R/irbis")
  test_manifest_path <- from_env("IRBIS_TEST_MANIFEST", "build/generated-test/manifest.json")
  test_package_dir <- from_env("IRBIS_R_TEST_PACKAGE", "build/generated-test/R/irbis")
  test_jar <- from_env("IRBIS_TEST_JAR", "build/jars/irbis-tests.jar")
  for (required in c(tarball, manifest_path, package_dir, test_manifest_path, test_package_dir, test_jar)) {
    if (!file.exists(required)) stop(required, " is missing: run `make build` first")
  }
  if (!requireNamespace("sparklyr", quietly = TRUE) || utils::packageVersion("sparklyr") < "1.9.0") {
    stop("sparklyr (>= 1.9.0) is not installed: run ../shared/vendor/r/install.sh (R_LIB=~/.cache/irbis/R-lib) ",
         "or install.packages(\"sparklyr\"), and put its library on R_LIBS")
  }

  # The package as a user installs it, into a library of this run only.
  lib <- tempfile("irbis-r-lib-")
  dir.create(lib)
  r_cmd(c("INSTALL", "--no-test-load", paste0("--library=", lib), tarball))
  .libPaths(c(lib, .libPaths()))
  suppressPackageStartupMessages({
    library(testthat)
    library(sparklyr)
    library(irbis)
  })
  read_manifest <- function(path) jsonlite::fromJSON(path, simplifyVector = FALSE, bigint_as_char = TRUE)

  # The test-only stages' wrappers (irbis.testkit), evaluated over the installed package's namespace.
  testkit <- new.env(parent = asNamespace("irbis"))
  main_files <- list.files(file.path(package_dir, "R"), pattern = "[.]R$")
  extra <- list.files(file.path(test_package_dir, "R"), pattern = "[.]R$", full.names = TRUE)
  for (f in sort(extra[!basename(extra) %in% main_files])) sys.source(f, envir = testkit)

  sc <- NULL
  if (!identical(Sys.getenv("IRBIS_R_NO_JVM"), "1")) {
    config <- spark_config()
    config[["spark.ui.enabled"]] <- "false"
    config[["spark.sql.shuffle.partitions"]] <- "2"
    config[["sparklyr.shell.driver-memory"]] <- "2g"
    # The suites start side by side on two cores: spark-submit may take longer than sparklyr's default minute to
    # open its gateway (a run saw the connection fail under that load).
    config[["sparklyr.connect.timeout"]] <- 300
    # No Hive metastore (sparklyr's default): its Derby database in the working folder admits one application at a
    # time, and the R example runs beside this suite.
    config[["sparklyr.connect.enablehivesupport"]] <- FALSE
    # The JVM test kit (example objects, frame comparison, test-only stages) is test code, not part of the package.
    config[["sparklyr.jars.default"]] <- normalizePath(test_jar)
    # With the UI off sparklyr warns that it cannot read the UI's address; nothing else is muffled.
    sc <- withCallingHandlers(
      spark_connect(master = "local[2]", spark_home = spark_home(), app_name = "irbis-r-tests", config = config),
      warning = function(w) if (grepl("Spark UI URL", conditionMessage(w))) invokeRestart("muffleWarning"))
    invoke(spark_context(sc), "setLogLevel", "ERROR")
  }

  context <- new.env(parent = testkit)
  context$irbis_root <- root
  context$generated <- testkit
  context$package_dirs <- c(package_dir, test_package_dir)
  context$r_lib <- lib
  context$manifest <- read_manifest(manifest_path)
  context$manifest_stages <- c(context$manifest$stages, read_manifest(test_manifest_path)$stages)
  context$sc <- sc
  context$r_cmd <- r_cmd
  context
}

# The test JVM flags of tests/jvm-options (its comment says why) and the tests' log4j configuration, passed as
# spark-submit takes them (sparklyr starts Spark through spark-submit).
if (!nzchar(Sys.getenv("SPARK_SUBMIT_OPTS"))) {
  jvm_options <- trimws(readLines(file.path(root, "tests", "jvm-options")))
  jvm_options <- c(jvm_options[nzchar(jvm_options) & !startsWith(jvm_options, "#")],
                   paste0("-Dlog4j2.configurationFile=file:", file.path(root, "tests", "R", "log4j2.properties")))
  Sys.setenv(SPARK_SUBMIT_OPTS = paste(jvm_options, collapse = " "))
}

setup_start <- proc.time()[["elapsed"]]
context <- tryCatch(setup(), error = function(e) {
  cat("R test setup failed: ", conditionMessage(e), "\n", sep = "")
  finish(0L, 1L, 0L)
})

cat(sprintf("R test setup (install the package, connect): %.1f s\n", proc.time()[["elapsed"]] - setup_start))
options(testthat.summary.max_reports = 1000L)
results <- testthat::test_dir(
  file.path(root, "tests", "R", "testthat"),
  filter = if (nzchar(Sys.getenv("IRBIS_R_FILTER"))) Sys.getenv("IRBIS_R_FILTER") else NULL,
  env = context,
  load_package = "none",
  reporter = testthat::SummaryReporter$new(show_praise = FALSE),
  stop_on_failure = FALSE
)
if (!is.null(context$sc)) spark_disconnect(context$sc)
df <- as.data.frame(results)
# Where the minutes went, as pytest's --durations: the test files by wall time.
by_file <- sort(tapply(df$real, df$file, sum), decreasing = TRUE)
cat("R test files by wall time (s):", paste(sprintf("%s %.1f", names(by_file), by_file), collapse = ", "), "\n")
slowest <- head(df[order(-df$real), c("real", "file", "test")], 8)
cat("slowest R tests (s):\n", paste(sprintf("  %6.1f %s: %s\n", slowest$real, slowest$file, slowest$test), collapse = ""))
failed <- df$failed > 0 | df$error
skipped <- !failed & df$skipped
finish(sum(!failed & !skipped), sum(failed), sum(skipped))
