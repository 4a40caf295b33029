# Hand-written additions for LightGBM models (the generated functions build and fit the stages): the model in
# LightGBM's own text format, its feature importances, and models trained by LightGBM elsewhere.

lightgbm_jobj <- function(x) if (inherits(x, "spark_jobj")) x else spark_jobj(x)

#' The model in LightGBM's text format (lightgbm's Booster(model_str = ...) reads it).
#' @export
lightgbm_native_model <- function(model) invoke(lightgbm_jobj(model), "getNativeModel")

#' LightGBM's feature importances of a fitted model: "split" (times used) or "gain".
#' @export
lightgbm_feature_importances <- function(model, importance_type = c("split", "gain")) {
  unlist(invoke(lightgbm_jobj(model), "getFeatureImportances", match.arg(importance_type)))
}

#' Writes the model text to a path (any Hadoop path), as lightgbm's save_model() does.
#' @export
lightgbm_save_native_model <- function(model, path, overwrite = TRUE) {
  invisible(invoke(lightgbm_jobj(model), "saveNativeModel", path, overwrite))
}

#' A LightGBM model trained anywhere, from its text (`text`) or a model file (`path`), as an Irbis model.
#' @export
lightgbm_load_native_model <- function(sc, text = NULL, path = NULL,
                                       kind = c("classification", "regression", "ranking")) {
  kind <- match.arg(kind)
  class_name <- c(classification = "irbis.lightgbm.LightGBMClassificationModel",
                  regression = "irbis.lightgbm.LightGBMRegressionModel",
                  ranking = "irbis.lightgbm.LightGBMRankerModel")[[kind]]
  if (is.null(text) == is.null(path)) stop("lightgbm_load_native_model: give one of `text` or `path`", call. = FALSE)
  if (!is.null(path)) invoke_static(sc, class_name, "loadNativeModelFromFile", path)
  else invoke_static(sc, class_name, "loadNativeModelFromString", text)
}
