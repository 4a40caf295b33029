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
  cases <- list()
  for (spec in all_specs()) {
    for (arg in names(spec$params)) {
      param <- spec$params[[arg]]
      rule <- param$validation
      if (is.null(rule) || identical(rule$rule, "jvm")) next
      for (case in validation_cases(param$kind, rule)) {
        cases[[length(cases) + 1L]] <- list(spec = spec, arg = arg, value = case[[1]], valid = case[[2]],
                                            json = irbis_param_json(case[[1]], param$kind, spec$fn, arg))
      }
    }
  }
  expect_gt(length(cases), 150L)
  # The JVM's verdict on every case (irbis.core.ParamsBridge.pair), asked in one call.
  asked <- lapply(cases, function(c) c(c$spec$class_name, c$spec$params[[c$arg]]$name, c$json))
  jvm <- parse_json(invoke_static(sc, "irbis.testkit.Verdicts", "of", as.character(jsonlite::toJSON(asked))))
  expect_length(jvm, length(cases))
  # A refused value is refused in R before any JVM call, so each costs nothing; the accepted values of a function
  # are built together, the i-th accepted value of every argument in the i-th build.
  accepted <- list()
  for (i in seq_along(cases)) {
    case <- cases[[i]]
    where <- sprintf("%s(%s = %s)", case$spec$fn, case$arg, case$json)
    expect_identical(is.null(jvm[[i]]), case$valid, info = where)
    if (case$valid) {
      builds <- accepted[[case$spec$fn]][[case$arg]]
      accepted[[case$spec$fn]][[case$arg]] <- c(builds, list(case$value))
      next
    }
    fn <- get(case$spec$fn, envir = generated)
    got <- tryCatch({
      do.call(fn, stats::setNames(list(sc, case$value), c("x", case$arg)))
      NULL
    }, error = function(e) conditionMessage(e))
    scala <- sprintf("%s.%s: invalid value %s. Expected: %s", sub(".*\\.", "", case$spec$class_name),
                     case$spec$params[[case$arg]]$name, case$json, case$spec$params[[case$arg]]$validation$expected)
    expect_identical(got, sprintf("%s(): `%s` is invalid: %s", case$spec$fn, case$arg, scala), info = where)
    expect_true(grepl(scala, jvm[[i]], fixed = TRUE), info = paste(where, jvm[[i]]))
  }
  for (fn_name in names(accepted)) {
    values <- accepted[[fn_name]]
    for (round in seq_len(max(lengths(values)))) {
      args <- lapply(Filter(function(v) length(v) >= round, values), `[[`, round)
      built <- tryCatch({
        do.call(get(fn_name, envir = generated), c(list(sc), args))
        NULL
      }, error = function(e) conditionMessage(e))
      expect_null(built, info = sprintf("%s(%s)", fn_name, paste(names(args), collapse = ", ")))
    }
  }
})

test_that("ONNXModel refuses a negative miniBatchSize and an unknown execution provider when it is built", {
  need_jvm()
  expect_error(ft_onnx_model(sc, mini_batch_size = -1),
               "ft_onnx_model(): `mini_batch_size` is invalid: ONNXModel.miniBatchSize: invalid value -1. Expected: >= 0",
               fixed = TRUE)
  expect_error(ft_onnx_model(sc, execution_provider = "GPU"),
               "ONNXModel.executionProvider: invalid value \"GPU\". Expected: one of CPU, CUDA", fixed = TRUE)
})
