# Every example of the JVM test kit, rebuilt through its R function and run on a tbl_spark, must give what
# Scala gives (irbis.testkit.Compare.diff is null).

if (is.null(sc)) {
  test_that("test-kit examples", need_jvm())
} else {
  for (example in examples()) local({
    example <- example
    stage <- invoke(example, "stage")
    class_name <- invoke(invoke(stage, "getClass"), "getName")

    test_that(paste("example", invoke(example, "name"), "through R gives Scala's result"), {
      spec <- spec_of_class(class_name)
      expect_false(is.null(spec), info = paste("no R function wraps", class_name))
      fn <- get(spec$fn, envir = generated)
      input <- sdf_register(invoke(example, "input"))
      result <- do.call(fn, c(list(input), r_args_of_stage(stage, spec)))
      expect_s3_class(result, "tbl_spark")
      expected <- invoke_static(sc, "irbis.testkit.Examples", "expected", example)
      expect_null(compare_frames(result, expected))
    })
  })
}
