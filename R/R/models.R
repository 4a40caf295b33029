# Hand-written R access to the model catalogue and downloader (irbis.featurize.ModelRepository and
# ModelDownloader on the JVM, which do all the reading, copying and verifying).

irbis_schema_from_jobj <- function(jobj) {
  structure(jsonlite::fromJSON(invoke(jobj, "toJson"), simplifyVector = FALSE), class = "irbis_model_schema")
}

irbis_schema_to_jobj <- function(sc, schema, fn) {
  if (!is.list(schema) || is.null(schema$name)) {
    stop(sprintf("%s(): `schema` must be a model schema (a list as ml_list_models() or ml_download_model() return), not %s.",
                 fn, paste(class(schema), collapse = "/")), call. = FALSE)
  }
  fields <- unclass(schema)
  if (!length(fields$preprocessing)) fields$preprocessing <- structure(list(), names = character(0))
  fields$layerNames <- I(unlist(fields$layerNames))
  json <- as.character(jsonlite::toJSON(fields, auto_unbox = TRUE, digits = NA, null = "null"))
  invoke_static(sc, "irbis.featurize.ModelSchema", "fromJson", json)
}

irbis_catalogue <- function(sc, catalogue) {
  if (is.null(catalogue)) return(invoke_static(sc, "irbis.featurize.ModelRepository", "bundled"))
  if (!is.character(catalogue) || length(catalogue) != 1L || is.na(catalogue)) {
    stop("ml_model_downloader(): `catalogue` must be NULL (the bundled catalogue) or the path of a catalogue file.",
         call. = FALSE)
  }
  invoke_static(sc, "irbis.featurize.ModelRepository", "load", catalogue, spark_session(sc))
}

#' Downloads catalogue models into a directory (local or any Hadoop URI), verified by size and SHA-256.
#' @param sc a spark_connection
#' @param target_dir where `<name>.onnx` files go
#' @param catalogue NULL for the catalogue bundled in the jar, or the path of a catalogue JSON file
#' @export
ml_model_downloader <- function(sc, target_dir, catalogue = NULL) {
  sc <- spark_connection(sc)
  if (!is.character(target_dir) || length(target_dir) != 1L || is.na(target_dir) || !nzchar(target_dir)) {
    stop("ml_model_downloader(): `target_dir` must be a single non-empty string.", call. = FALSE)
  }
  jobj <- irbis_jvm("ml_model_downloader", invoke_new(sc, "irbis.featurize.ModelDownloader", spark_session(sc),
                                                     target_dir, irbis_catalogue(sc, catalogue)))
  structure(list(target_dir = target_dir, .jobj = jobj), class = "irbis_model_downloader")
}

#' The models of a catalogue: a named list of schemas.
#' @param x a model downloader (its catalogue) or a spark_connection (the bundled catalogue)
#' @export
ml_list_models <- function(x) {
  repo <- if (inherits(x, "irbis_model_downloader")) invoke(x$.jobj, "repository") else
    invoke_static(spark_connection(x), "irbis.featurize.ModelRepository", "bundled")
  models <- lapply(jsonlite::fromJSON(invoke(repo, "toJson"), simplifyVector = FALSE)$models,
                   function(m) structure(m, class = "irbis_model_schema"))
  names(models) <- vapply(models, function(m) m$name, character(1))
  models
}

#' Downloads (or reuses a verified copy of) a catalogue model; returns its schema with `uri` at the copy.
#' A model made by a Python converter (`convert:` uri) must be made once from Python; the error says how.
#' @param downloader from ml_model_downloader()
#' @param name the model's name in the catalogue
#' @export
ml_download_model <- function(downloader, name) {
  if (!inherits(downloader, "irbis_model_downloader")) {
    stop("ml_download_model(): `downloader` must come from ml_model_downloader().", call. = FALSE)
  }
  if (!is.character(name) || length(name) != 1L || is.na(name)) {
    stop("ml_download_model(): `name` must be a single string (see ml_list_models()).", call. = FALSE)
  }
  irbis_schema_from_jobj(irbis_jvm("ml_download_model", invoke(downloader$.jobj, "downloadByName", name)))
}

#' Loads a downloaded catalogue model into an ImageFeaturizer (made by ft_image_featurizer(sc, ...)) and sets
#' the preprocessing the catalogue gives.
#' @param x an ImageFeaturizer stage
#' @param schema as ml_download_model() returns it
#' @export
image_featurizer_set_model <- function(x, schema) {
  jobj <- spark_jobj(x)
  irbis_check_class(jobj, "irbis.featurize.ImageFeaturizer", "image_featurizer_set_model")
  sc <- spark_connection(jobj)
  irbis_jvm("image_featurizer_set_model",
            invoke(jobj, "setModel", irbis_schema_to_jobj(sc, schema, "image_featurizer_set_model")))
  ml_call_constructor(jobj)
}

irbis_check_class <- function(jobj, class_name, fn) {
  actual <- invoke(invoke(jobj, "getClass"), "getName")
  if (!identical(actual, class_name)) {
    stop(sprintf("%s(): `x` must be a %s stage, not %s.", fn, class_name, actual), call. = FALSE)
  }
}
