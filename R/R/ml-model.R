# Learners (ml_train_classifier, ml_train_regressor) take a formula, and every ml_* estimator called on a tbl_spark
# returns an ml_model as sparklyr's own learners do: the fitted pipeline, the data, the fitted stage. sparklyr's
# ml_predict() and ml_evaluate() dispatch on its class ml_model_irbis.

# `label ~ .` or `label ~ a + b` (or the same as a string) as label_col and input_cols. `.` leaves input_cols unset:
# the learner then uses every column but the label.
irbis_formula_columns <- function(formula, fn) {
  bad <- function(why) {
    stop(sprintf("%s(): `formula` must be a formula such as label ~ . or label ~ a + b%s, not %s.", fn, why,
                 if (inherits(formula, "formula")) deparse(formula) else irbis_describe(formula)), call. = FALSE)
  }
  f <- formula
  if (is.character(f) && length(f) == 1L && !is.na(f)) f <- tryCatch(stats::as.formula(f), error = function(e) NULL)
  if (!inherits(f, "formula")) bad("")
  if (length(f) != 3L || !is.name(f[[2]])) bad(" (one response column on the left)")
  terms <- function(e) {
    if (is.name(e)) return(as.character(e))
    if (is.call(e) && identical(e[[1]], as.name("+")) && length(e) == 3L) return(c(terms(e[[2]]), terms(e[[3]])))
    bad(" (column names joined by +)")
  }
  inputs <- terms(f[[3]])
  if ("." %in% inputs && length(inputs) > 1L) bad(" (`.` alone, or column names)")
  list(label_col = as.character(f[[2]]), input_cols = if (identical(inputs, ".")) NULL else inputs)
}

irbis_apply_formula <- function(formula, values, fn) {
  if (is.null(formula)) return(values)
  columns <- irbis_formula_columns(formula, fn)
  both <- intersect(c("label_col", "input_cols"), names(values))
  if (length(both)) {
    stop(sprintf("%s(): give either `formula` or %s, not both.", fn, paste0("`", both, "`", collapse = " and ")),
         call. = FALSE)
  }
  values$label_col <- columns$label_col
  if (!is.null(columns$input_cols)) values$input_cols <- columns$input_cols
  values
}

irbis_formula_text <- function(formula) {
  if (is.null(formula) || is.character(formula)) return(formula)
  paste(deparse(formula, width.cutoff = 500L), collapse = " ")
}

# The stage fitted on `x` inside a one-stage pipeline, as sparklyr's ml_model keeps it.
irbis_ml_model <- function(stage, x, formula) {
  pipeline <- ml_pipeline(stage)
  pipeline_model <- ml_fit(pipeline, x)
  structure(
    list(pipeline_model = pipeline_model, formula = irbis_formula_text(formula), dataset = x, pipeline = pipeline,
         model = ml_stage(pipeline_model, 1)),
    class = c(sub("^ml_", "ml_model_", class(stage)[[1]]), "ml_model_irbis", "ml_model")
  )
}

#' @exportS3Method ml_predict
ml_predict.ml_model_irbis <- function(x, dataset, ...) {
  if (missing(dataset) || is.null(dataset)) dataset <- x$dataset
  ml_transform(x$pipeline_model, dataset)
}

# ComputeModelStatistics of the model's predictions (its label and score columns come from the scored data's
# metadata), collected: one row of metrics.
#' @exportS3Method ml_evaluate
ml_evaluate.ml_model_irbis <- function(x, dataset) {
  if (missing(dataset) || is.null(dataset)) dataset <- x$dataset
  sdf_collect(ft_compute_model_statistics(ml_predict(x, dataset)))
}
