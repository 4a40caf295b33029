# The package as a user installs it: run.R installed dist/irbis_<version>.tar.gz with R CMD INSTALL and connected
# through sparklyr, which took the jar from the package's spark_dependencies(). R CMD check on the generated
# source (without its jar) against the real sparklyr.

# The files of the package but its jar as bin/lint-r lists them ("md5  ./path", in byte order).
package_manifest <- function(dir) {
  files <- list.files(dir, recursive = TRUE, all.files = TRUE)
  files <- sort(files[!startsWith(files, "inst/java/")], method = "radix")
  paste0(unname(tools::md5sum(file.path(dir, files))), "  ./", files)
}

test_that("R CMD check passes on the generated package (without its jar)", {
  # `make lint` (bin/lint-r) runs the same check without tests and examples, and records the files it passed: for a
  # package with neither, that is this check, so it is not run twice on the very same files.
  rd <- list.files(file.path(package_dirs[[1]], "man"), pattern = "[.]Rd$", full.names = TRUE)
  same_check <- !dir.exists(file.path(package_dirs[[1]], "tests")) &&
    !any(vapply(rd, function(f) any(grepl("\\examples{", readLines(f), fixed = TRUE)), logical(1)))
  stamp <- file.path(irbis_root, "build", "r-check-passed.md5")
  if (same_check && file.exists(stamp) && identical(readLines(stamp), package_manifest(package_dirs[[1]]))) {
    skip("R CMD check passed on these very files in `make lint` (build/r-check-passed.md5)")
  }
  source_copy <- file.path(tempfile("irbis-check-"), "irbis")
  dir.create(dirname(source_copy))
  file.copy(package_dirs[[1]], dirname(source_copy), recursive = TRUE)
  unlink(file.path(source_copy, "inst", "java"), recursive = TRUE)
  work <- dirname(source_copy)
  r_cmd(c("build", "--no-build-vignettes", source_copy), wd = work)
  tarball <- list.files(work, pattern = "^irbis_.*[.]tar[.]gz$", full.names = TRUE)
  output <- tryCatch(r_cmd(c("check", "--no-manual", tarball), wd = work), error = function(e) conditionMessage(e))
  expect_true(any(grepl("^Status: OK", output)), info = paste(tail(output, 30), collapse = "\n"))
})

test_that("the installed package is a registered sparklyr extension whose jar the connection loaded", {
  need_jvm()
  expect_identical(normalizePath(dirname(find.package("irbis"))), normalizePath(r_lib))
  expect_true("irbis" %in% registered_extensions())
  jars <- list.files(system.file("java", package = "irbis"), pattern = "[.]jar$", full.names = TRUE)
  expect_identical(basename(jars), "irbis-assembly.jar")
  dependency <- asNamespace("irbis")$spark_dependencies(spark_version = numeric_version("4.1"), scala_version = NULL)
  expect_identical(dependency$jars, jars)
  # The connection's classes come from that jar: the one on the driver's class path.
  location <- invoke(invoke(invoke(invoke(invoke_static(sc, "java.lang.Class", "forName", "irbis.core.Version"),
                                          "getProtectionDomain"), "getCodeSource"), "getLocation"), "getPath")
  expect_identical(normalizePath(location), normalizePath(jars))
  expect_identical(invoke_static(sc, "irbis.core.Version", "value"), as.character(utils::packageVersion("irbis")))
})

test_that("spark_dependencies() refuses Spark 3 and Scala 2.11 or 3 with a clear message", {
  deps <- asNamespace("irbis")$spark_dependencies
  expect_error(deps(spark_version = numeric_version("3.5"), scala_version = NULL),
               "needs Spark 4.x with Scala 2.13, but this connection runs Spark 3.5", fixed = TRUE)
  for (scala in c("2.11", "3.3")) {
    expect_error(deps(spark_version = numeric_version("4.1"), scala_version = numeric_version(scala)),
                 sprintf("needs Scala 2.13 (as Spark 4 is built), but spark_connect() was given scala_version = \"%s\"",
                         scala), fixed = TRUE)
  }
  expect_true(inherits(deps(spark_version = numeric_version("4.0"), scala_version = "2.13"), "spark_dependency"))
  # What sparklyr 1.9 passes when spark_connect() was given no scala_version: the JVM's is checked later.
  expect_true(inherits(deps(spark_version = numeric_version("4.1"), scala_version = numeric_version("2.12")),
                       "spark_dependency"))
})
