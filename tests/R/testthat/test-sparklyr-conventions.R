# sparklyr's conventions as an R user meets them: positional arguments in sparklyr's order, learners that take a
# formula and return an ml_model for ml_predict() and ml_evaluate(), values as R users write them, and errors that
# name the R argument. References are computed in R from the collected rows.

iris_tbl <- local({
  tbl <- NULL
  function() {
    if (is.null(tbl)) tbl <<- sdf_copy_to(sc, iris, "irbis_r_iris", overwrite = TRUE)
    tbl
  }
})

is_set <- function(stage, param) {
  jobj <- spark_jobj(stage)
  invoke(jobj, "isSet", invoke(jobj, "getParam", param))
}

test_that("positional arguments follow sparklyr: x, the input column, the output column", {
  need_jvm()
  stage <- ft_image_decoder(sc, "content", "decoded")
  expect_identical(ml_param(stage, "input_col"), "content")
  expect_identical(ml_param(stage, "output_col"), "decoded")
  dir <- file.path(dirname(irbis_root), "shared", "data", "camera-traps", "other")
  if (!dir.exists(dir)) skip(paste("the camera-trap images are not at", dir))
  files <- spark_read_binary(sc, "irbis_r_elephants", dir = normalizePath(dir), path_glob_filter = "african_elephants.jpg",
                             memory = FALSE)
  decoded <- ft_image_decoder(files, "content", "decoded")
  rows <- lapply(collect_json(invoke(spark_dataframe(decoded), "selectExpr",
                                     list("decoded.height AS h", "decoded.width AS w", "error"))), parse_json)
  expect_length(rows, 1L)
  expect_null(rows[[1]]$error)
  expect_gt(rows[[1]]$h, 0L)
  expect_gt(rows[[1]]$w, 0L)
})

test_that("a learner takes a formula and returns an ml_model that ml_predict() and ml_evaluate() accept", {
  need_jvm()
  model <- ml_train_classifier(iris_tbl(), Species ~ ., model = ml_logistic_regression(sc, max_iter = 50))
  expect_s3_class(model, c("ml_model_train_classifier", "ml_model_irbis", "ml_model"), exact = TRUE)
  expect_identical(model$formula, "Species ~ .")
  expect_identical(ml_param(model$model, "label_col"), "Species")
  expect_false(is_set(ml_stage(model$pipeline, 1), "inputCols"))
  expect_output(print(model), "Formula: Species ~ .", fixed = TRUE)

  predictions <- sdf_collect(ml_predict(model, iris_tbl()))
  expect_true(all(c("prediction", "probability", "scored_labels") %in% names(predictions)))
  metrics <- ml_evaluate(model, iris_tbl())
  classes <- sort(unique(as.character(iris$Species)))
  expect_identical(unlist(metrics$classes), classes)
  expect_equal(metrics$count, 150)
  expect_equal(metrics$accuracy, mean(predictions$scored_labels == predictions$Species))
  confusion <- table(factor(predictions$Species, classes), factor(predictions$scored_labels, classes))
  expect_equal(do.call(rbind, lapply(metrics$confusion_matrix[[1]], function(r) as.numeric(unlist(r)))),
               matrix(as.numeric(confusion), 3), ignore_attr = TRUE)

  two <- ml_train_classifier(iris_tbl(), Species ~ Petal_Width + Petal_Length)
  expect_identical(unlist(ml_param(two$model, "input_cols")), c("Petal_Width", "Petal_Length"))
  on_connection <- ml_train_classifier(sc, "Species ~ Petal_Width")
  expect_s3_class(on_connection, c("ml_train_classifier", "ml_estimator", "ml_pipeline_stage"), exact = TRUE)
  expect_identical(ml_param(on_connection, "label_col"), "Species")
  expect_identical(unlist(ml_param(on_connection, "input_cols")), "Petal_Width")
})

test_that("a regressor's ml_evaluate() gives the regression metrics of its predictions", {
  need_jvm()
  model <- ml_train_regressor(iris_tbl(), Sepal_Length ~ Petal_Length + Petal_Width)
  expect_s3_class(model, c("ml_model_train_regressor", "ml_model_irbis", "ml_model"), exact = TRUE)
  predictions <- sdf_collect(ml_predict(model))
  metrics <- ml_evaluate(model, iris_tbl())
  errors <- predictions$Sepal_Length - predictions$prediction
  expect_equal(metrics$mse, mean(errors^2), tolerance = 1e-12)
  expect_equal(metrics$mae, mean(abs(errors)), tolerance = 1e-12)
  labels <- predictions$Sepal_Length
  expect_equal(metrics$r2, 1 - sum(errors^2) / sum((labels - mean(labels))^2), tolerance = 1e-12)
})

test_that("values as R users write them: numerics for integers, character vectors for arrays, NULL leaves unset", {
  need_jvm()
  stage <- ft_unroll_binary_image(sc, "content", "pixels", height = 32, width = 32)
  expect_identical(ml_param(stage, "height"), 32L)
  expect_identical(invoke(spark_jobj(stage), "getWidth"), 32L)
  keys <- ft_ensemble_by_key(sc, keys = c("sequence", "camera"), cols = "p")
  expect_identical(unlist(invoke(spark_jobj(keys), "getKeys")), c("sequence", "camera"))
  unset <- ft_image_decoder(sc, "content", NULL)
  expect_false(is_set(unset, "outputCol"))
  expect_true(is_set(unset, "inputCol"))
})

test_that("bad formulas and values are errors naming the function and the R argument", {
  need_jvm()
  expect_error(ml_train_classifier(sc, Species ~ a * b),
               "ml_train_classifier(): `formula` must be a formula such as label ~ . or label ~ a + b (column names joined by +), not Species ~ a * b.",
               fixed = TRUE)
  expect_error(ml_train_classifier(sc, ~a), "(one response column on the left)", fixed = TRUE)
  expect_error(ml_train_classifier(sc, 3), "`formula` must be a formula such as label ~ . or label ~ a + b, not numeric 3",
               fixed = TRUE)
  expect_error(ml_train_classifier(sc, Species ~ . + a), "(`.` alone, or column names)", fixed = TRUE)
  expect_error(ml_train_classifier(sc, Species ~ ., label_col = "x"),
               "ml_train_classifier(): give either `formula` or `label_col`, not both.", fixed = TRUE)
  expect_error(ft_image_decoder(sc, 1), "ft_image_decoder(): `input_col` must be", fixed = TRUE)
  expect_error(ft_unroll_binary_image(sc, height = 2.5), "ft_unroll_binary_image(): `height` must be a whole number",
               fixed = TRUE)
})
