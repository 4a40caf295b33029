# The spark_connection and ml_pipeline dispatch paths, fitted models, persistence through sparklyr's class
# mapping, and argument errors, on the first test-kit example of an estimator and of a transformer.

first_example <- function(type) {
  for (example in examples()) {
    stage <- invoke(example, "stage")
    spec <- spec_of_class(invoke(invoke(stage, "getClass"), "getName"))
    if (!is.null(spec) && (spec$role != "transformer") == (type == "estimator")) {
      return(list(example = example, spec = spec, fn = get(spec$fn, envir = generated),
                  args = r_args_of_stage(stage, spec), input = sdf_register(invoke(example, "input")),
                  expected = invoke_static(sc, "irbis.testkit.Examples", "expected", example)))
    }
  }
  skip(paste("no test-kit example of an", type))
}

tag_of <- function(spec) paste0("ml_", sub("^(ft|ml)_", "", spec$fn))

for (type in c("estimator", "transformer")) local({
  type <- type
  a_type <- paste(if (type == "estimator") "an" else "a", type)

  test_that(paste(a_type, "from a spark_connection is an R stage object"), {
    need_jvm()
    ex <- first_example(type)
    stage <- do.call(ex$fn, c(list(sc), ex$args, list(uid = "r_made_uid")))
    expect_s3_class(stage, c(tag_of(ex$spec), paste0("ml_", type), "ml_pipeline_stage"), exact = TRUE)
    expect_identical(stage$uid, "r_made_uid")
    expect_identical(invoke(spark_jobj(stage), "uid"), "r_made_uid")
  })

  test_that(paste(a_type, "appended to an ml_pipeline runs as in Scala"), {
    need_jvm()
    ex <- first_example(type)
    pipeline <- do.call(ex$fn, c(list(ml_pipeline(sc)), ex$args))
    expect_s3_class(pipeline, "ml_pipeline")
    expect_length(ml_stages(pipeline), 1L)
    expect_s3_class(ml_stages(pipeline)[[1]], tag_of(ex$spec))
    model <- ml_fit(pipeline, ex$input)
    expect_s3_class(model, "ml_pipeline_model")
    expect_null(compare_frames(ml_transform(model, ex$input), ex$expected))
  })

  test_that(paste(a_type, "survives ml_save and ml_load through the class mapping"), {
    need_jvm()
    ex <- first_example(type)
    stage <- do.call(ex$fn, c(list(sc), ex$args))
    path <- file.path(tempfile("irbis-r-"), "stage")
    ml_save(stage, path)
    loaded <- ml_load(sc, path)
    expect_s3_class(loaded, class(stage), exact = TRUE)
    expect_identical(loaded$uid, stage$uid)
    result <- if (type == "estimator") ml_transform(ml_fit(loaded, ex$input), ex$input) else ml_transform(loaded, ex$input)
    expect_null(compare_frames(result, ex$expected))
  })
})

test_that("an estimator's fitted model comes back as its own R model object, and persists", {
  need_jvm()
  ex <- first_example("estimator")
  model <- ml_fit(do.call(ex$fn, c(list(sc), ex$args)), ex$input)
  model_class <- invoke(invoke(spark_jobj(model), "getClass"), "getName")
  mapping <- jsonlite::fromJSON(file.path(package_dirs[[1]], "inst", "sparkml", "class_mapping.json"))
  expect_s3_class(model, c(mapping[[model_class]], "ml_transformer"))
  expect_null(compare_frames(ml_transform(model, ex$input), ex$expected))

  path <- file.path(tempfile("irbis-r-"), "pipeline-model")
  ml_save(ml_fit(do.call(ex$fn, c(list(ml_pipeline(sc)), ex$args)), ex$input), path)
  reloaded <- ml_load(sc, path)
  expect_s3_class(reloaded, "ml_pipeline_model")
  expect_s3_class(ml_stages(reloaded)[[1]], mapping[[model_class]])
  expect_null(compare_frames(ml_transform(reloaded, ex$input), ex$expected))
})

test_that("bad calls fail with a message naming the function and the argument", {
  need_jvm()
  ex <- first_example("transformer")
  expect_error(ex$fn(data.frame(a = 1)), paste0(ex$spec$fn, "\\(\\): `x` must be a spark_connection"))
  expect_error(ex$fn(sc, not_a_param = 1), paste0(ex$spec$fn, "\\(\\): unknown argument\\(s\\) not_a_param"))
  expect_error(ex$fn(sc, uid = 3), "`uid` must be a single string")
  real_version <- get("irbis_version", envir = asNamespace("irbis"))
  utils::assignInNamespace("irbis_version", "0.0.0-stale", "irbis")
  on.exit(utils::assignInNamespace("irbis_version", real_version, "irbis"))
  expect_error(ex$fn(sc), paste0("The irbis R package is version 0.0.0-stale but the Spark session runs the Irbis jar",
                                 " version ", real_version))
  utils::assignInNamespace("irbis_version", real_version, "irbis")
  for (arg in names(ex$spec$params)) {
    if (ex$spec$params[[arg]]$kind %in% c("string", "string[]")) {
      call <- c(list(sc), stats::setNames(list(1), arg))
      expect_error(do.call(ex$fn, call), paste0(ex$spec$fn, "\\(\\): `", arg, "` must be"))
      break
    }
  }
})
