# The generic per-stage harness: every example of the JVM test kit, rebuilt through its R function in sparklyr's
# three forms. On a tbl_spark it must give what Scala gives (irbis.testkit.Compare.diff is null): a transformer
# transforms, a feature estimator (ft_*) fits and transforms, a learner or model tool (ml_*) returns an ml_model
# whose ml_predict() is compared. On a spark_connection it is the stage (its R class, the params set, printed, its
# ml_param_map); on an ml_pipeline it is appended (ml_stage). The stage's R class, printing, param map and the
# pipeline form depend on the class, not on the params' values, so they are checked on the first example of each
# class. Fitting and persistence through pipelines are in test-dispatch.R, on one example of each kind: they cost
# a Spark job each.

if (is.null(sc)) {
  test_that("test-kit examples", need_jvm())
} else {
  seen <- character(0)
  for (example in examples()) local({
    example <- example
    stage <- invoke(example, "stage")
    class_name <- invoke(invoke(stage, "getClass"), "getName")
    first_of_class <- !class_name %in% seen
    seen <<- c(seen, class_name)

    test_that(paste("example", invoke(example, "name"), "in sparklyr's three forms"), {
      spec <- spec_of_class(class_name)
      expect_false(is.null(spec), info = paste("no R function wraps", class_name))
      fn <- get(spec$fn, envir = generated)
      args <- r_args_of_stage(stage, spec)
      tag <- paste0("ml_", sub("^(ft|ml)_", "", spec$fn))
      kind <- if (spec$role == "transformer") "ml_transformer" else "ml_estimator"

      input <- sdf_register(invoke(example, "input"))
      result <- do.call(fn, c(list(input), args))
      if (spec$role %in% c("learner", "tool")) {
        expect_s3_class(result, c(sub("^ml_", "ml_model_", tag), "ml_model_irbis", "ml_model"), exact = TRUE)
        expect_s3_class(result$pipeline_model, "ml_pipeline_model")
        expect_identical(ml_stage(result$pipeline_model, 1)$uid, result$model$uid)
        result <- ml_predict(result)
      }
      expect_s3_class(result, "tbl_spark")
      expected <- invoke_static(sc, "irbis.testkit.Examples", "expected", example)
      expect_null(compare_frames(result, expected))
      built <- do.call(fn, c(list(sc), args))
      expect_s3_class(built, c(tag, kind, "ml_pipeline_stage"), exact = TRUE)
      expect_identical(parse_json(invoke_static(sc, "irbis.testkit.Examples", "setParamsJson", spark_jobj(built))),
                       parse_json(invoke_static(sc, "irbis.testkit.Examples", "setParamsJson", stage)))
      if (first_of_class) {
        expect_output(print(built), built$uid, fixed = TRUE)
        # The test-only stages' wrappers are not an installed package: sparklyr knows neither their R class nor their
        # R argument names (class_mapping.json, param_mapping.json), so those checks are for the package's stages.
        installed <- !startsWith(class_name, "irbis.testkit.")
        complex <- names(Filter(function(p) p$kind %in% c("bytes", "stage", "stage[]"), spec$params))
        simple <- setdiff(names(args), complex)
        if (installed) {
          expect_true(all(simple %in% names(ml_param_map(built))),
                      info = paste(setdiff(simple, names(ml_param_map(built))), collapse = ", "))
        }

        pipeline <- do.call(fn, c(list(ml_pipeline(sc)), args))
        expect_s3_class(pipeline, "ml_pipeline")
        expect_length(ml_stages(pipeline), 1L)
        expect_identical(invoke(invoke(spark_jobj(ml_stage(pipeline, 1)), "getClass"), "getName"), class_name)
        if (installed) expect_s3_class(ml_stage(pipeline, 1), c(tag, kind, "ml_pipeline_stage"), exact = TRUE)
      }
    })
  })
}
