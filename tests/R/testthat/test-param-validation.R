# Every declarative validator of the manifest (irbis.core.Constraint) is checked in R when a stage is built, by the
# same rule and with the JVM's message: for each stage function and constrained param, values just inside and just
# outside each bound, compared with what irbis.core.ParamsBridge says of the same JSON.

validation_cases <- function(kind, rule) {
  element <- sub("\\[\\]$", "", sub("^map<string,(.*)>$", "\\1", kind))
  whole <- element %in% c("int", "long")
  step <- function(bound, up) if (whole) bound + (if (up) 1 else -1) else bound + (if (up) 1e-6 else -1e-6)
  scalar <- function(rule) {
    switch(rule$rule,
      "range" = {
        out <- list()
        if (!is.null(rule$min)) out <- c(out, list(
          list(if (isTRUE(rule$minInclusive)) rule$min else step(rule$min, TRUE), TRUE),
          list(if (isTRUE(rule$minInclusive)) step(rule$min, FALSE) else rule$min, FALSE)))
        if (!is.null(rule$max)) out <- c(out, list(
          list(if (isTRUE(rule$maxInclusive)) rule$max else step(rule$max, FALSE), TRUE),
          list(if (isTRUE(rule$maxInclusive)) step(rule$max, TRUE) else rule$max, FALSE)))
        if (!whole) out <- c(out, list(list(NaN, FALSE)))
        out
      },
      "oneOf" = c(lapply(rule$options, function(o) list(o, TRUE)), list(list(paste0(rule$options[1], "x"), FALSE))),
      "nonEmpty" = list(list("", FALSE), list("a", TRUE))
    )
  }
  if (identical(element, kind)) return(scalar(rule))
  one <- list(string = "a", int = 1, long = 1, float = 1, double = 1)[[element]]
  wrap <- if (grepl("^map<", kind)) function(v) as.list(stats::setNames(v, letters[seq_along(v)])) else function(v) v
  if (identical(rule$rule, "nonEmpty")) return(list(list(wrap(c(one)), TRUE), list(wrap(one[0]), FALSE)))
  inner <- scalar(rule$of)
  good <- inner[[which(vapply(inner, `[[`, TRUE, 2))[1]]][[1]]
  bad <- inner[[which(!vapply(inner, `[[`, TRUE, 2))[1]]][[1]]
  list(list(wrap(c(good)), TRUE), list(wrap(c(good, bad)), FALSE))
}

test_that("declared validators refuse a value when the stage is built, with the JVM's message", {
  need_jvm()
  checked <- 0L
  for (spec in all_specs()) {
    fn <- get(spec$fn, envir = generated)
    for (arg in names(spec$params)) {
      param <- spec$params[[arg]]
      rule <- param$validation
      if (is.null(rule) || identical(rule$rule, "jvm")) next
      for (case in validation_cases(param$kind, rule)) {
        value <- case[[1]]
        json <- irbis_param_json(value, param$kind, spec$fn, arg)
        jvm <- tryCatch({
          invoke_static(sc, "irbis.core.ParamsBridge", "pair", invoke_new(sc, spec$class_name), param$name, json)
          NULL
        }, error = function(e) irbis_jvm_message(e))
        got <- tryCatch({
          do.call(fn, stats::setNames(list(sc, value), c("x", arg)))
          NULL
        }, error = function(e) conditionMessage(e))
        where <- sprintf("%s(%s = %s)", spec$fn, arg, json)
        expect_identical(is.null(got), case[[2]], info = where)
        expect_identical(is.null(jvm), case[[2]], info = where)
        if (!is.null(got)) {
          scala <- sprintf("%s.%s: invalid value %s. Expected: %s", sub(".*\\.", "", spec$class_name), param$name,
                           json, rule$expected)
          expect_identical(got, sprintf("%s(): `%s` is invalid: %s", spec$fn, arg, scala), info = where)
          expect_true(grepl(scala, jvm, fixed = TRUE), info = paste(where, jvm))
        }
        checked <- checked + 1L
      }
    }
  }
  expect_gt(checked, 150L)
})

test_that("ONNXModel refuses a negative miniBatchSize and an unknown execution provider when it is built", {
  need_jvm()
  expect_error(ft_onnx_model(sc, mini_batch_size = -1),
               "ft_onnx_model(): `mini_batch_size` is invalid: ONNXModel.miniBatchSize: invalid value -1. Expected: >= 0",
               fixed = TRUE)
  expect_error(ft_onnx_model(sc, execution_provider = "GPU"),
               "ONNXModel.executionProvider: invalid value \"GPU\". Expected: one of CPU, CUDA", fixed = TRUE)
})
