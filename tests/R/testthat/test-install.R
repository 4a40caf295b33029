# The generated package built with R CMD build and installed as a user would: its NAMESPACE imports must resolve,
# its S3 methods must dispatch and .onLoad must register the extension. sparklyr cannot be installed here, so a
# throwaway package named sparklyr is made from tests/R/bridge.R (in a temporary library, for this test only).

install_stub_sparklyr <- function(lib) {
  dir <- file.path(tempfile("stub-"), "sparklyr")
  dir.create(file.path(dir, "R"), recursive = TRUE)
  writeLines(c(
    "Package: sparklyr", "Version: 0.0.0.9000", "Title: Irbis Test Stand-in for sparklyr",
    "Description: The Irbis R test bridge, packaged so that the generated package can be installed.",
    "License: Apache License (== 2)", "Author: Irbis tests", "Maintainer: Irbis tests <tests@example.invalid>",
    "Imports: rJava, jsonlite"
  ), file.path(dir, "DESCRIPTION"))
  writeLines(c("import(rJava)", "exportPattern(\"^[^.]\")"), file.path(dir, "NAMESPACE"))
  file.copy(file.path(irbis_root, "tests", "R", "bridge.R"), file.path(dir, "R", "bridge.R"))
  r_cmd(c("INSTALL", "--no-test-load", paste0("--library=", lib), dir))
}

r_cmd <- function(args, wd = getwd()) {
  old <- setwd(wd)
  on.exit(setwd(old))
  output <- suppressWarnings(system2(file.path(R.home("bin"), "R"), c("CMD", args), stdout = TRUE, stderr = TRUE))
  status <- attr(output, "status")
  if (!is.null(status) && status != 0) stop("R CMD ", args[[1]], " failed:\n", paste(tail(output, 20), collapse = "\n"))
  invisible(output)
}

stub_lib <- local({
  lib <- NULL
  function() {
    if (is.null(lib)) {
      lib <<- tempfile("irbis-lib-")
      dir.create(lib)
      install_stub_sparklyr(lib)
    }
    lib
  }
})

test_that("R CMD check passes on the generated package (without its jar)", {
  source_copy <- file.path(tempfile("irbis-check-"), "irbis")
  dir.create(dirname(source_copy))
  file.copy(package_dirs[[1]], dirname(source_copy), recursive = TRUE)
  unlink(file.path(source_copy, "inst", "java"), recursive = TRUE)
  work <- dirname(source_copy)
  r_cmd(c("build", "--no-build-vignettes", source_copy), wd = work)
  tarball <- list.files(work, pattern = "^irbis_.*[.]tar[.]gz$", full.names = TRUE)
  old <- Sys.getenv("R_LIBS")
  Sys.setenv(R_LIBS = paste(c(stub_lib(), .libPaths()), collapse = ":"))
  on.exit(Sys.setenv(R_LIBS = old))
  output <- tryCatch(r_cmd(c("check", "--no-manual", tarball), wd = work), error = function(e) conditionMessage(e))
  expect_true(any(grepl("^Status: OK", output)), info = paste(tail(output, 30), collapse = "\n"))
})

test_that("R CMD build's tarball installs, loads as a sparklyr extension and runs an example", {
  need_jvm()
  lib <- stub_lib()
  build_dir <- tempfile("irbis-build-")
  dir.create(build_dir)
  r_cmd(c("build", "--no-build-vignettes", package_dirs[[1]]), wd = build_dir)
  tarball <- list.files(build_dir, pattern = "^irbis_.*[.]tar[.]gz$", full.names = TRUE)
  expect_length(tarball, 1L)
  r_cmd(c("INSTALL", "--no-test-load", paste0("--library=", lib), tarball))

  old_paths <- .libPaths()
  .libPaths(c(lib, old_paths))
  on.exit({
    for (ns in c("irbis", "sparklyr")) if (ns %in% loadedNamespaces()) unloadNamespace(ns)
    .libPaths(old_paths)
  }, add = TRUE)
  loadNamespace("irbis")
  stub <- asNamespace("sparklyr")
  assign("sc", sc, envir = stub$bridge)
  expect_true("irbis" %in% stub$registered_extensions())

  jars <- list.files(file.path(package_dirs[[1]], "inst", "java"), pattern = "[.]jar$")
  if (length(jars)) {
    expect_identical(basename(asNamespace("irbis")$spark_dependencies("4.1.4", "2.13")$jars), jars)
  } else {
    expect_error(asNamespace("irbis")$spark_dependencies("4.1.4", "2.13"), "no jar in inst/java")
  }

  main <- Filter(function(e) {
    class_name <- invoke(invoke(invoke(e, "stage"), "getClass"), "getName")
    !startsWith(class_name, "irbis.testkit.") && !is.null(spec_of_class(class_name))
  }, examples())
  example <- main[[1]]
  stage <- invoke(example, "stage")
  spec <- spec_of_class(invoke(invoke(stage, "getClass"), "getName"))
  fn <- getExportedValue("irbis", spec$fn)
  input <- sdf_register(invoke(example, "input"))
  expected <- invoke_static(sc, "irbis.testkit.Examples", "expected", example)
  expect_null(compare_frames(do.call(fn, c(list(input), r_args_of_stage(stage, spec))), expected))

  built <- do.call(fn, c(list(sc), r_args_of_stage(stage, spec)))
  path <- file.path(tempfile("irbis-r-"), "stage")
  stub$ml_save(built, path)
  expect_s3_class(stub$ml_load(sc, path), class(built), exact = TRUE)
})
