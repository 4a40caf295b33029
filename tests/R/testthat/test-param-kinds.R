# Every Param kind from R to the JVM and back, through the test-only stage irbis.testkit.ParamKinds, whose
# output column `params` reports the JSON of every value the JVM holds.

param_kinds_report <- function(stage) {
  input <- sdf_register(invoke(spark_session(sc), "sql", "SELECT 1 AS id"))
  row <- parse_json(collect_json(ml_transform(stage, input))[[1]])
  parse_json(row$params)
}

param_kinds_spec <- function() {
  spec <- spec_of_class("irbis.testkit.ParamKinds")
  if (is.null(spec)) fail("no R wrapper for irbis.testkit.ParamKinds: was build/generated-test/R/irbis generated?")
  spec
}

expect_report <- function(report, spec, values) {
  by_name <- stats::setNames(names(spec$params), vapply(spec$params, `[[`, "", "name"))
  for (name in names(report)) {
    if (!name %in% names(by_name)) next
    arg <- by_name[[name]]
    expect_identical(json_to_r(report[[name]], spec$params[[arg]]$kind),
                     as_param_json(values[[arg]], spec$params[[arg]]$kind), info = arg)
  }
}

test_that("the JVM defaults of every kind are the R defaults", {
  need_jvm()
  spec <- param_kinds_spec()
  fn <- get(spec$fn, envir = generated)
  report <- param_kinds_report(fn(sc))
  defaults <- lapply(formals(fn)[names(spec$params)], eval, envir = generated)
  expect_false("innerStages.classes" %in% names(report))
  expect_report(report[!names(report) %in% c("payload.length", "inner.class")], spec, Filter(Negate(is.null), defaults))
})

test_that("a value of every kind set from R reaches the JVM intact", {
  need_jvm()
  spec <- param_kinds_spec()
  fn <- get(spec$fn, envir = generated)
  inner <- invoke_new(sc, "org.apache.spark.ml.feature.SQLTransformer")
  values <- list(
    a_boolean = FALSE, an_int = 3, a_long = "9007199254740993", a_float = -0.5, a_double = Inf,
    a_string = "caf\u00e9 \"q\" 100% {x} \\", an_enum = "blue", booleans = TRUE, ints = 5L, longs = c(1, 2^53),
    floats = c(0.5, NaN), doubles = numeric(0), strings = "only", matrix = matrix(c(1, 2, 3, 4), 2),
    string_map = list(b = "y", a = "x"), int_map = c(z = 2L), double_map = c(w = NaN),
    vector = list(size = 3, indices = c(0, 2), values = c(1, -2)), positive = 5
  )
  values <- values[names(values) %in% names(spec$params)]
  inner_stages <- list(invoke_new(sc, "org.apache.spark.ml.feature.SQLTransformer"),
                       invoke_new(sc, "irbis.stages.SelectColumns"))
  stage <- do.call(fn, c(list(sc), values, list(payload = as.raw(c(0, 255, 7)), inner = inner,
                                                inner_stages = inner_stages)))
  report <- param_kinds_report(stage)
  expect_setequal(intersect(names(report), vapply(spec$params, `[[`, "", "name")),
                  vapply(spec$params[!vapply(spec$params, `[[`, "", "kind") %in% c("bytes", "stage", "stage[]")], `[[`, "", "name"))
  expect_report(report, spec, values)
  expect_identical(report[["payload.length"]], 3L)
  expect_identical(report[["inner.class"]], "org.apache.spark.ml.feature.SQLTransformer")
  expect_identical(unlist(report[["innerStages.classes"]]),
                   c("org.apache.spark.ml.feature.SQLTransformer", "irbis.stages.SelectColumns"))
})

test_that("values the JVM validator rejects fail when the stage is built, naming the param", {
  need_jvm()
  spec <- param_kinds_spec()
  fn <- get(spec$fn, envir = generated)
  expect_error(fn(sc, positive = 0), "ft_param_kinds(): `positive` is invalid: ParamKinds.positive: invalid value 0. Expected: > 0",
               fixed = TRUE)
  expect_error(fn(sc, an_int = 1.5), "ft_param_kinds\\(\\): `an_int` must be a whole number")
  expect_error(fn(sc, an_enum = "purple"), "`an_enum` is invalid: ParamKinds.anEnum: invalid value \"purple\". Expected: one of red, green, blue",
               fixed = TRUE)
})
