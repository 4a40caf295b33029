# Hand-written support for the generated stage functions (copied verbatim into the generated package).
#
# R never learns Scala types: every argument becomes the JSON text that the Param's own codec reads
# (irbis.core.ParamsBridge.setJson), chosen by the manifest's `kind`. Only `bytes`, `stage` and `stage[]` travel
# as raw values (setRaw), because they never live in JSON metadata.

irbis_params_bridge <- "irbis.core.ParamsBridge"

# Builds the JVM stage for a generated function. Only arguments the caller supplied are set, so the others keep
# the JVM default and stay "unset", as with pyspark's keyword arguments.
irbis_stage_jobj <- function(sc, spec, env, ...) {
  if (...length() > 0L) {
    extra <- names(list(...))
    extra <- if (is.null(extra)) rep("", ...length()) else extra
    extra[extra == ""] <- "<unnamed>"
    stop(sprintf(
      "%s(): unknown argument(s) %s; the arguments are %s.",
      spec$fn, paste(extra, collapse = ", "), paste(c("x", names(spec$params), "uid"), collapse = ", ")
    ), call. = FALSE)
  }
  values <- list()
  for (arg in names(spec$params)) {
    if (eval(call("missing", as.name(arg)), env)) next
    value <- get(arg, envir = env)
    if (!is.null(value)) values[arg] <- list(value)
  }
  if (identical(spec$role, "learner")) values <- irbis_apply_formula(get("formula", envir = env), values, spec$fn)
  # Every argument is checked, and made into its JSON, before the JVM is asked anything: a refused value costs no
  # JVM call and leaves no half-built stage behind.
  jsons <- lapply(stats::setNames(nm = names(values)), function(arg) {
    irbis_checked_json(spec$params[[arg]], values[[arg]], spec$fn, arg, spec$class_name)
  })
  irbis_check_version(sc)
  uid <- get("uid", envir = env)
  jobj <- if (is.null(uid)) {
    invoke_new(sc, spec$class_name)
  } else {
    invoke_new(sc, spec$class_name, irbis_scalar_string(uid, spec$fn, "uid"))
  }
  for (arg in names(values)) irbis_set_param(sc, jobj, spec$params[[arg]], values[[arg]], jsons[[arg]], spec$fn, arg)
  jobj
}

# Sets one param on the JVM stage: a simple one from its JSON (irbis_checked_json, already checked in R), a complex
# one as its raw value. The JVM validates every value again with the Param's own validator; its message names the
# Scala param, so the R argument is added in front.
irbis_set_param <- function(sc, jobj, param, value, json, fn, arg) {
  complex <- param$kind %in% c("bytes", "stage", "stage[]")
  value <- if (complex) irbis_param_raw(value, param$kind, fn, arg, sc) else json
  tryCatch(
    invoke_static(sc, irbis_params_bridge, if (complex) "setRaw" else "setJson", jobj, param$name, value),
    error = function(e) {
      stop(sprintf("%s(): `%s` was rejected by the JVM stage: %s", fn, arg, irbis_jvm_message(e)), call. = FALSE)
    }
  )
  invisible(jobj)
}

# A simple param's value as the JSON its codec reads, refused here when a validator the manifest describes refuses
# it, with the JVM's message (irbis.core.ParamsBridge); NULL for the complex kinds, which travel raw.
irbis_checked_json <- function(param, value, fn, arg, class_name = "") {
  if (param$kind %in% c("bytes", "stage", "stage[]")) return(NULL)
  json <- irbis_param_json(value, param$kind, fn, arg)
  rule <- param$validation
  if (!is.null(rule) && !identical(rule$rule, "jvm") && !irbis_valid(rule, param$kind, value)) {
    stop(sprintf("%s(): `%s` is invalid: %s.%s: invalid value %s. Expected: %s", fn, arg,
                 sub(".*\\.", "", class_name), param$name, json, rule$expected), call. = FALSE)
  }
  json
}

# Whether an R value (already accepted as JSON of its kind) passes a declarative rule of the manifest: the
# rules of irbis.core.Constraint, evaluated as the JVM does (NaN is in no range).
irbis_valid <- function(rule, kind, value) {
  scalar <- !grepl("\\[\\]$|^map<", kind)
  values <- if (is.list(value)) unlist(value, use.names = FALSE) else value
  switch(rule$rule,
    "range" = {
      x <- suppressWarnings(as.numeric(values))
      if (identical(kind, "float") || identical(kind, "float[]")) x <- irbis_as_float(x)
      ok <- !is.na(x)
      if (!is.null(rule$min)) ok <- ok & (if (isTRUE(rule$minInclusive)) x >= rule$min else x > rule$min)
      if (!is.null(rule$max)) ok <- ok & (if (isTRUE(rule$maxInclusive)) x <= rule$max else x < rule$max)
      all(ok)
    },
    "oneOf" = all(values %in% rule$options),
    "nonEmpty" = if (scalar) nzchar(values) else length(values) > 0L,
    "each" = all(vapply(as.list(values), function(v) irbis_valid(rule$of, "scalar", v), logical(1))),
    TRUE
  )
}

# What a FloatParam holds: the value rounded to 32 bits, as the JVM reads it.
irbis_as_float <- function(x) {
  if (!length(x)) return(x)
  readBin(writeBin(x, raw(), size = 4L), "double", n = length(x), size = 4L)
}

# A stale jar on the classpath would silently disagree with the generated arguments and defaults.
irbis_check_version <- function(sc) {
  scala <- invoke_static(sc, "scala.util.Properties", "versionNumberString")
  if (!startsWith(scala, "2.13.")) {
    stop(sprintf("irbis %s needs Scala 2.13, but the Spark session runs Scala %s.", irbis_version, scala),
         call. = FALSE)
  }
  jvm <- invoke_static(sc, "irbis.core.Version", "value")
  if (!identical(jvm, irbis_version)) {
    stop(sprintf(
      "The irbis R package is version %s but the Spark session runs the Irbis jar version %s.",
      irbis_version, jvm
    ), call. = FALSE)
  }
}

irbis_transform_tbl <- function(stage, x) {
  sdf_register(invoke(spark_jobj(stage), "transform", spark_dataframe(x)))
}

irbis_fit_transform_tbl <- function(stage, x) {
  df <- spark_dataframe(x)
  model <- invoke(spark_jobj(stage), "fit", df)
  sdf_register(invoke(model, "transform", df))
}

# A JVM exception's message as the JVM wrote it: sparklyr prefixes the exception class, wraps the text at about 80
# columns and appends a hint about spark_last_error(); all three are taken off.
irbis_jvm_message <- function(e) {
  text <- sub("\n\nRun `sparklyr::spark_last_error\\(\\)`.*$", "", conditionMessage(e))
  text <- gsub("[ ]*\n[ ]*", " ", text)
  sub("^([A-Za-z_$][A-Za-z0-9_$]*[.])+[A-Za-z0-9_$]*(Exception|Error): ", "", text)
}

# Runs `expr` (JVM calls); a JVM exception becomes an error of `fn` with the JVM's message.
irbis_jvm <- function(fn, expr) {
  tryCatch(expr, error = function(e) stop(fn, "(): ", irbis_jvm_message(e), call. = FALSE))
}

irbis_bad_x <- function(fn, x) {
  stop(sprintf(
    "%s(): `x` must be a spark_connection, an ml_pipeline or a tbl_spark, not %s.",
    fn, paste(class(x), collapse = "/")
  ), call. = FALSE)
}

# ---- R value -> Param JSON -------------------------------------------------------------------------------

# One branch per non-complex kind of codegen/irbis_codegen/kinds.py (tests/python/core/test_kind_tables.py checks).
irbis_param_json <- function(value, kind, fn, arg, options = NULL) {
  switch(kind,
    "boolean" = irbis_json_bool(irbis_scalar(value, fn, arg, kind), fn, arg),
    "int" = irbis_json_int(irbis_scalar(value, fn, arg, kind), fn, arg),
    "long" = irbis_json_long(irbis_scalar(value, fn, arg, kind), fn, arg),
    "float" = ,
    "double" = irbis_json_double(irbis_scalar(value, fn, arg, kind), fn, arg),
    "string" = irbis_json_enum(irbis_scalar_string(value, fn, arg), fn, arg, options),
    "boolean[]" = irbis_json_array(irbis_json_bool(irbis_elements(value, fn, arg, kind), fn, arg)),
    "int[]" = irbis_json_array(irbis_json_int(irbis_elements(value, fn, arg, kind), fn, arg)),
    "long[]" = irbis_json_array(irbis_json_long(irbis_elements(value, fn, arg, kind), fn, arg)),
    "float[]" = ,
    "double[]" = irbis_json_array(irbis_json_double(irbis_elements(value, fn, arg, kind), fn, arg)),
    "string[]" = irbis_json_array(irbis_json_string(irbis_elements(value, fn, arg, kind), fn, arg)),
    "double[][]" = irbis_json_matrix(value, fn, arg),
    "map<string,string>" = irbis_json_map(value, fn, arg, kind, irbis_json_string),
    "map<string,int>" = irbis_json_map(value, fn, arg, kind, irbis_json_int),
    "map<string,double>" = irbis_json_map(value, fn, arg, kind, irbis_json_double),
    "vector" = irbis_json_vector(value, fn, arg),
    stop(sprintf("%s(): `%s` has kind '%s', which this irbis package cannot convert.", fn, arg, kind), call. = FALSE)
  )
}

irbis_param_raw <- function(value, kind, fn, arg, sc = NULL) {
  if (identical(kind, "bytes")) {
    if (!is.raw(value)) irbis_fail(fn, arg, "a raw vector (bytes)", value)
    return(value)
  }
  if (identical(kind, "stage[]")) {
    # A java.util.ArrayList built element by element: the JVM side (StageArrayParam.coerce) turns it into the
    # array the Param holds, whatever way the R-to-JVM serializer would have written an R list.
    is_stage <- function(v) inherits(v, "ml_pipeline_stage") || inherits(v, "spark_jobj")
    if (is_stage(value)) value <- list(value)
    if (!is.list(value) || !all(vapply(value, is_stage, logical(1)))) {
      irbis_fail(fn, arg, "a list of pipeline stages (e.g. made by ft_* or ml_* functions)", value)
    }
    stages <- invoke_new(sc, "java.util.ArrayList")
    for (v in value) invoke(stages, "add", spark_jobj(v))
    return(stages)
  }
  if (inherits(value, "ml_pipeline_stage") || inherits(value, "spark_jobj")) return(spark_jobj(value))
  irbis_fail(fn, arg, "a pipeline stage (e.g. made by an ft_* or ml_* function)", value)
}

irbis_fail <- function(fn, arg, what, value) {
  stop(sprintf("%s(): `%s` must be %s, not %s.", fn, arg, what, irbis_describe(value)), call. = FALSE)
}

irbis_describe <- function(value) {
  if (is.null(value)) return("NULL")
  if (is.atomic(value) && length(value) == 1L) {
    return(paste(class(value)[1], deparse(value)))
  }
  sprintf("a %s of length %d", class(value)[1], length(value))
}

irbis_scalar <- function(value, fn, arg, kind) {
  if (!is.atomic(value) || length(value) != 1L) irbis_fail(fn, arg, paste0("a single value (", kind, ")"), value)
  value
}

irbis_scalar_string <- function(value, fn, arg) {
  if (!is.character(value) || length(value) != 1L || is.na(value)) irbis_fail(fn, arg, "a single string", value)
  value
}

# A single value for an array Param is a one-element array, as in Spark's own setters.
irbis_elements <- function(value, fn, arg, kind) {
  if (is.list(value) && all(vapply(value, function(v) is.atomic(v) && length(v) == 1L, logical(1)))) {
    # unlist() would quietly turn list(1, "a") into strings
    mixed <- length(unique(vapply(value, typeof, ""))) > 1L && !all(vapply(value, is.numeric, logical(1)))
    if (mixed) irbis_fail(fn, arg, paste0("a vector of one type (", kind, ")"), value)
    value <- unlist(value, use.names = FALSE)
    if (is.null(value)) value <- logical(0)
  }
  if (!is.atomic(value) || !is.null(dim(value))) irbis_fail(fn, arg, paste0("a vector (", kind, ")"), value)
  value
}

irbis_json_array <- function(elements) paste0("[", paste(elements, collapse = ","), "]")

irbis_json_bool <- function(v, fn, arg) {
  if (!length(v)) return(character(0))
  if (!is.logical(v) || anyNA(v)) irbis_fail(fn, arg, "TRUE or FALSE", v)
  ifelse(v, "true", "false")
}

irbis_json_int <- function(v, fn, arg) {
  if (!length(v)) return(character(0))
  ok <- is.numeric(v) && !anyNA(v) && all(is.finite(v)) && all(v == trunc(v)) && all(v >= -2^31 & v < 2^31)
  if (!ok) irbis_fail(fn, arg, "a whole number that fits in 32 bits (int)", v)
  formatC(as.numeric(v), format = "f", digits = 0)
}

# R has no 64-bit integers: whole doubles are exact up to 2^53, digit strings carry the rest.
irbis_json_long <- function(v, fn, arg) {
  if (!length(v)) return(character(0))
  if (is.character(v) && !anyNA(v) && all(grepl("^-?[0-9]+$", v))) return(v)
  ok <- is.numeric(v) && !anyNA(v) && all(is.finite(v)) && all(v == trunc(v)) && all(abs(v) <= 2^53)
  if (!ok) irbis_fail(fn, arg, "a whole number (long; beyond 2^53 give a string of digits)", v)
  formatC(as.numeric(v), format = "f", digits = 0)
}

# Spark's DoubleParam codec writes NaN and infinities as the strings "NaN", "Inf" and "-Inf", and reads only
# JSON numbers with a fraction or an exponent as doubles (2 must be written 2.0).
irbis_json_double <- function(v, fn, arg) {
  if (!length(v)) return(character(0))
  if (!is.numeric(v) || any(is.na(v) & !is.nan(v))) irbis_fail(fn, arg, "a number (NaN and Inf allowed, NA not)", v)
  out <- sprintf("%.17g", as.numeric(v))
  whole <- !grepl("[.eEn]", out)
  out[whole] <- paste0(out[whole], ".0")
  out[is.nan(v)] <- "\"NaN\""
  out[!is.nan(v) & v == Inf] <- "\"Inf\""
  out[!is.nan(v) & v == -Inf] <- "\"-Inf\""
  out
}

irbis_json_string <- function(v, fn, arg) {
  if (!length(v)) return(character(0))
  if (!is.character(v) || anyNA(v)) irbis_fail(fn, arg, "a character string without NA", v)
  vapply(enc2utf8(v), function(s) as.character(jsonlite::toJSON(s, auto_unbox = TRUE)), character(1),
         USE.NAMES = FALSE)
}

irbis_json_enum <- function(v, fn, arg, options) {
  if (length(options) && !(v %in% options)) {
    stop(sprintf("%s(): `%s` must be one of %s, not \"%s\".", fn, arg,
                 paste0("\"", options, "\"", collapse = ", "), v), call. = FALSE)
  }
  irbis_json_string(v, fn, arg)
}

irbis_json_matrix <- function(value, fn, arg) {
  if (is.matrix(value) && is.numeric(value)) value <- lapply(seq_len(nrow(value)), function(i) value[i, ])
  if (!is.list(value)) irbis_fail(fn, arg, "a list of numeric vectors or a numeric matrix (double[][])", value)
  rows <- vapply(value, function(row) {
    if (!is.numeric(row)) irbis_fail(fn, arg, "a list of numeric vectors or a numeric matrix (double[][])", value)
    irbis_json_array(irbis_json_double(row, fn, arg))
  }, character(1))
  irbis_json_array(rows)
}

irbis_json_map <- function(value, fn, arg, kind, encode) {
  what <- paste0("a named list or named vector (", kind, ")")
  if (!(is.list(value) || is.atomic(value))) irbis_fail(fn, arg, what, value)
  keys <- names(value)
  if (length(value) && (is.null(keys) || anyNA(keys) || any(keys == "") || anyDuplicated(keys))) {
    irbis_fail(fn, arg, paste(what, "with unique, non-empty names"), value)
  }
  if (is.list(value)) {
    if (!all(vapply(value, function(v) is.atomic(v) && length(v) == 1L, logical(1)))) irbis_fail(fn, arg, what, value)
    value <- if (length(value)) unlist(unname(value)) else character(0)
  }
  if (!length(value)) return("{}")
  values <- encode(unname(value), fn, arg)
  paste0("{", paste0(irbis_json_string(keys, fn, arg), ":", values, collapse = ","), "}")
}

# Spark's vector JSON: type 1 is dense, type 0 is sparse with zero-based indices.
irbis_json_vector <- function(value, fn, arg) {
  what <- "a numeric vector (dense) or list(size =, indices =, values =) (sparse)"
  numbers <- function(v) irbis_json_array(irbis_json_double(v, fn, arg))
  if (is.numeric(value) && is.null(dim(value))) return(paste0("{\"type\":1,\"values\":", numbers(value), "}"))
  if (is.list(value) && setequal(names(value), c("size", "indices", "values"))) {
    size <- irbis_json_int(irbis_scalar(value$size, fn, arg, "vector size"), fn, arg)
    indices <- irbis_json_array(irbis_json_int(irbis_elements(value$indices, fn, arg, "int[]"), fn, arg))
    return(paste0("{\"type\":0,\"size\":", size, ",\"indices\":", indices, ",\"values\":", numbers(value$values), "}"))
  }
  irbis_fail(fn, arg, what, value)
}
