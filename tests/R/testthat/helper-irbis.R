# Shared by the R tests. run.R puts `sc` (the one sparklyr connection), `generated` (the test-only stages' wrappers
# over the installed irbis namespace), `package_dirs`, `manifest` and `manifest_stages` in the parent environment.

need_jvm <- function() {
  if (is.null(sc)) skip("IRBIS_R_NO_JVM=1: no Spark session")
}

parse_json <- function(text) jsonlite::fromJSON(text, simplifyVector = FALSE, bigint_as_char = TRUE)

# The inverse of irbis_param_json(): a Param's JSON (already parsed) as the R value a user would pass.
json_to_r <- function(value, kind) {
  if (is.null(value)) return(NULL)
  scalar <- list(
    "boolean" = function(v) as.logical(v),
    "int" = function(v) as.integer(v),
    "long" = function(v) if (is.character(v)) v else as.numeric(v),
    "float" = json_number,
    "double" = json_number,
    "string" = function(v) as.character(v)
  )
  empty <- list("boolean" = logical(0), "int" = integer(0), "long" = numeric(0), "float" = numeric(0),
                "double" = numeric(0), "string" = character(0))
  elements <- function(values, elem) {
    if (!length(values)) return(empty[[elem]])
    out <- lapply(values, scalar[[elem]])
    if (elem == "long" && any(vapply(out, is.character, logical(1)))) out <- lapply(out, format_long)
    unlist(out)
  }
  if (kind %in% names(scalar)) return(scalar[[kind]](value))
  if (sub("\\[\\]$", "", kind) %in% names(scalar)) return(elements(value, sub("\\[\\]$", "", kind)))
  if (kind == "double[][]") return(lapply(value, elements, elem = "double"))
  if (startsWith(kind, "map<string,")) {
    if (!length(value)) return(list())
    value <- value[order(names(value))]
    return(stats::setNames(elements(unname(value), sub("^map<string,(.*)>$", "\\1", kind)), names(value)))
  }
  if (kind == "vector") {
    if (value$type == 1) return(elements(value$values, "double"))
    return(list(size = as.integer(value$size), indices = elements(value$indices, "int"),
                values = elements(value$values, "double")))
  }
  if (kind == "bytes") return(jsonlite::base64_dec(value))
  stop("json_to_r: kind ", kind, " has no JSON form")
}

json_number <- function(v) {
  if (is.character(v)) return(c("NaN" = NaN, "Inf" = Inf, "-Inf" = -Inf)[[v]])
  as.numeric(v)
}

format_long <- function(v) if (is.character(v)) v else formatC(v, format = "f", digits = 0)

# Both sides through JSON, so that 1L and 1, or c(a = 1) and list(a = 1), compare as the JVM would see them.
as_param_json <- function(value, kind) {
  if (kind %in% c("bytes", "stage", "stage[]")) return(value)
  json_to_r(parse_json(irbis_param_json(value, kind, "test", "value")), kind)
}

# Every generated function's spec: the installed package's and the test-only stages'.
all_specs <- function() {
  envs <- list(asNamespace("irbis"), generated)
  unlist(lapply(envs, function(env) {
    lapply(ls(env, all.names = TRUE, pattern = "^[.]irbis_spec_"), get, envir = env)
  }), recursive = FALSE)
}

spec_of_class <- function(class_name) {
  for (spec in all_specs()) if (identical(spec$class_name, class_name)) return(spec)
  NULL
}

# Rows of a Spark DataFrame (or tbl_spark) as JSON strings, through the JVM: exact values, nulls left out.
collect_json <- function(x) {
  unlist(invoke(invoke(spark_dataframe(x), "toJSON"), "collect"))
}

java_strings <- function(x) {
  if (is.null(x)) return(character(0))
  if (is.character(x)) return(x)
  if (!inherits(x, "spark_jobj")) return(vapply(x, as.character, character(1)))
  n <- invoke(x, "size")
  vapply(seq_len(n) - 1L, function(i) invoke(x, "get", i), character(1))
}

# The R arguments that rebuild a JVM stage: its explicitly set params, converted per kind.
r_args_of_stage <- function(stage, spec) {
  by_name <- stats::setNames(as.list(names(spec$params)), vapply(spec$params, `[[`, "", "name"))
  set <- parse_json(invoke_static(sc, "irbis.testkit.Examples", "setParamsJson", stage))
  args <- list()
  for (name in names(set)) {
    arg <- by_name[[name]]
    args[[arg]] <- json_to_r(set[[name]], spec$params[[arg]]$kind)
  }
  for (name in java_strings(invoke_static(sc, "irbis.testkit.Examples", "complexParamNames", stage))) {
    args[[by_name[[name]]]] <- invoke_static(sc, "irbis.core.ParamsBridge", "getRaw", stage, name)
  }
  args
}

# The test kit's examples, built once per run (building them all is a Spark job per example input).
examples <- local({
  cached <- NULL
  function() {
    if (is.null(cached)) {
      all <- invoke_static(sc, "irbis.testkit.Examples", "all", spark_session(sc))
      cached <<- lapply(seq_len(invoke(all, "size")) - 1L, function(i) invoke(all, "get", i))
    }
    cached
  }
})

compare_frames <- function(actual, expected) {
  invoke_static(sc, "irbis.testkit.Compare", "diff", spark_dataframe(actual), spark_dataframe(expected))
}
