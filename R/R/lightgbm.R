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

# A numeric vector as sparklyr sends an Array[Double] (a plain vector of length one would arrive as one Double).
lightgbm_doubles <- function(features, fn) {
  # NaN is LightGBM's missing value; NA is R's and has no meaning there.
  if (!is.numeric(features) || !length(features) || any(is.na(features) & !is.nan(features))) {
    stop(sprintf("%s: `features` must be a non-empty numeric vector (NaN for a missing value, not NA)", fn),
         call. = FALSE)
  }
  as.list(as.numeric(features))
}

#' SHAP contributions of one row (a numeric vector of its features): one per feature, then the expected value (for
#' multiclass, that block per class), as LightGBM's predict(pred_contrib = TRUE). They sum to the row's raw score.
#' @export
lightgbm_feature_shaps <- function(model, features) {
  unlist(invoke(lightgbm_jobj(model), "getDenseFeatureShaps", lightgbm_doubles(features, "lightgbm_feature_shaps")))
}

#' The leaf of each tree that one row (a numeric vector of its features) falls in, as LightGBM's
#' predict(pred_leaf = TRUE).
#' @export
lightgbm_predict_leaf <- function(model, features) {
  vector <- invoke_static(spark_connection(lightgbm_jobj(model)), "org.apache.spark.ml.linalg.Vectors", "dense",
                          lightgbm_doubles(features, "lightgbm_predict_leaf"))
  as.integer(unlist(invoke(invoke(lightgbm_jobj(model), "predictLeaf", vector), "toArray")))
}

#' What the booster holds: iterations, trees, features, classes, and the iteration early stopping kept (-1: none).
#' @export
lightgbm_booster_info <- function(model) {
  jobj <- lightgbm_jobj(model)
  list(num_iterations = invoke(jobj, "getBoosterNumTotalIterations"),
       num_trees = invoke(jobj, "getBoosterNumTotalModel"),
       num_features = invoke(jobj, "getBoosterNumFeatures"),
       num_classes = invoke(jobj, "getBoosterNumClasses"),
       best_iteration = invoke(jobj, "getBoosterBestIteration"))
}
