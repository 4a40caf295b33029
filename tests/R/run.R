#!/usr/bin/env Rscript
# Runs the R tests. sparklyr cannot be installed here, so the generated irbis R files are sourced (not installed)
# over tests/R/bridge.R, which plays sparklyr's exported API on an in-process Spark with the Irbis jars.
# Prints a last line "R: N passed, N failed, N skipped" and exits 1 when anything failed.
#
# Inputs (defaults relative to the repository root; override with environment variables):
#   IRBIS_MANIFEST         build/generated/manifest.json
#   IRBIS_R_PACKAGE        build/generated/R/irbis
#   IRBIS_TEST_MANIFEST    build/generated-test/manifest.json   (test-only stages; used when present)
#   IRBIS_R_TEST_PACKAGE   build/generated-test/R/irbis         (their R wrappers; used when present)
#   IRBIS_JARS             build/jars/irbis-assembly.jar:build/jars/irbis-tests.jar
#   PYSPARK_JARS_DIR       the jars/ folder of the pyspark in .venv
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

setup <- function() {
  suppressPackageStartupMessages({
    library(testthat)
    library(jsonlite)
    library(rJava)
  })
  read_manifest <- function(path) fromJSON(path, simplifyVector = FALSE, bigint_as_char = TRUE)

  manifest_path <- from_env("IRBIS_MANIFEST", "build/generated/manifest.json")
  package_dir <- from_env("IRBIS_R_PACKAGE", "build/generated/R/irbis")
  test_manifest_path <- from_env("IRBIS_TEST_MANIFEST", "build/generated-test/manifest.json")
  test_package_dir <- from_env("IRBIS_R_TEST_PACKAGE", "build/generated-test/R/irbis")
  for (required in c(manifest_path, package_dir)) {
    if (!file.exists(required)) stop(required, " is missing: run the code generator first (make generate)")
  }

  bridge_env <- new.env(parent = globalenv())
  sys.source(file.path(root, "tests", "R", "bridge.R"), envir = bridge_env)

  # The generated code sees the bridge where an installed package would see its sparklyr imports.
  generated <- new.env(parent = bridge_env)
  files <- list.files(file.path(package_dir, "R"), pattern = "[.]R$", full.names = TRUE)
  if (dir.exists(test_package_dir)) {
    extra <- list.files(file.path(test_package_dir, "R"), pattern = "[.]R$", full.names = TRUE)
    files <- c(files, extra[!basename(extra) %in% basename(files)])
  }
  for (f in sort(files)) sys.source(f, envir = generated)
  namespaces <- c(package_dir, if (dir.exists(test_package_dir)) test_package_dir)
  for (ns in namespaces) register_namespace_methods(file.path(ns, "NAMESPACE"), generated)

  stages <- read_manifest(manifest_path)$stages
  if (file.exists(test_manifest_path)) stages <- c(stages, read_manifest(test_manifest_path)$stages)

  sc <- NULL
  if (!identical(Sys.getenv("IRBIS_R_NO_JVM"), "1")) {
    bridge_env$bridge_register_extension("irbis", file.path(package_dir, "inst"), generated)
    if (dir.exists(test_package_dir)) {
      bridge_env$bridge_register_extension("irbis.testkit", file.path(test_package_dir, "inst"), generated)
    }
    sc <- bridge_env$bridge_connect(spark_jars(), log4j_config = file.path(root, "tests", "R", "log4j2.properties"))
  }

  context <- new.env(parent = generated)
  context$irbis_root <- root
  context$generated <- generated
  context$package_dirs <- namespaces
  context$manifest <- read_manifest(manifest_path)
  context$manifest_stages <- stages
  context$sc <- sc
  context
}

# What R's NAMESPACE loader would do: check the exports exist and register the S3 methods.
register_namespace_methods <- function(namespace_file, env) {
  directives <- parse(namespace_file)
  for (d in directives) {
    what <- as.character(d[[1]])
    if (what == "export") {
      for (name in as.character(as.list(d)[-1])) {
        if (!exists(name, envir = env, inherits = FALSE)) stop(namespace_file, " exports missing function ", name)
      }
    } else if (what == "S3method") {
      generic <- as.character(d[[2]])
      class <- as.character(d[[3]])
      registerS3method(generic, class, get(paste0(generic, ".", class), envir = env), envir = env)
    }
  }
}

spark_jars <- function() {
  pyspark_jars <- Sys.getenv("PYSPARK_JARS_DIR", "")
  if (!nzchar(pyspark_jars)) {
    python <- file.path(root, ".venv", "bin", "python")
    home <- system2(python, c("-c", shQuote("import pyspark, os; print(os.path.dirname(pyspark.__file__))")),
                    stdout = TRUE)
    pyspark_jars <- file.path(home, "jars")
  }
  irbis_jars <- Sys.getenv("IRBIS_JARS", "")
  irbis_jars <- if (nzchar(irbis_jars)) strsplit(irbis_jars, ":", fixed = TRUE)[[1]] else
    file.path(root, "build", "jars", c("irbis-assembly.jar", "irbis-tests.jar"))
  missing <- irbis_jars[!file.exists(irbis_jars)]
  if (length(missing)) stop("missing jar(s) ", paste(missing, collapse = ", "), ": run `make jars` first")
  c(list.files(pyspark_jars, pattern = "[.]jar$", full.names = TRUE), irbis_jars)
}

# The test JVM flags of tests/jvm-options (its comment says why), passed as spark-submit would take them.
if (!nzchar(Sys.getenv("SPARK_SUBMIT_OPTS"))) {
  jvm_options <- trimws(readLines(file.path(root, "tests", "jvm-options")))
  Sys.setenv(SPARK_SUBMIT_OPTS = paste(jvm_options[nzchar(jvm_options) & !startsWith(jvm_options, "#")], collapse = " "))
}

context <- tryCatch(setup(), error = function(e) {
  cat("R test setup failed: ", conditionMessage(e), "\n", sep = "")
  finish(0L, 1L, 0L)
})

options(testthat.summary.max_reports = 1000L)
results <- testthat::test_dir(
  file.path(root, "tests", "R", "testthat"),
  filter = if (nzchar(Sys.getenv("IRBIS_R_FILTER"))) Sys.getenv("IRBIS_R_FILTER") else NULL,
  env = context,
  reporter = testthat::SummaryReporter$new(show_praise = FALSE),
  stop_on_failure = FALSE
)
df <- as.data.frame(results)
failed <- df$failed > 0 | df$error
skipped <- !failed & df$skipped
finish(sum(!failed & !skipped), sum(failed), sum(skipped))
