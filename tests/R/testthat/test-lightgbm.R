# The hand-written R helpers of LightGBM models (R/R/lightgbm.R) on a model fitted from R: its native text loads back
# and predicts the same, the file saveNativeModel writes is that text, importances have a value per feature, and a
# row's SHAP contributions add up to the raw score Spark's transform gives for it (LightGBM's own identity).

lightgbm_fixture <- local({
  cached <- NULL
  function() {
    if (is.null(cached)) {
      two <- iris[iris$Species != "setosa", ]
      data <- data.frame(a = two$Sepal.Length, b = two$Sepal.Width, c = two$Petal.Length,
                         label = as.numeric(two$Species == "virginica"))
      tbl <- ft_vector_assembler(sdf_copy_to(sc, data, "irbis_r_lightgbm", overwrite = TRUE),
                                 input_cols = c("a", "b", "c"), output_col = "features")
      model <- ml_fit(ml_lightgbm_classifier(sc, num_iterations = 6L, num_leaves = 4L, min_data_in_leaf = 5L,
                                             deterministic = TRUE, num_threads = 1L), tbl)
      cached <<- list(tbl = tbl, model = model)
    }
    cached
  }
})

test_that("the native model text loads back from text and from a file and predicts the same", {
  need_jvm()
  f <- lightgbm_fixture()
  text <- lightgbm_native_model(f$model)
  expect_true(startsWith(text, "tree\n"))
  path <- tempfile(fileext = ".txt")
  lightgbm_save_native_model(f$model, path)
  expect_identical(readChar(path, file.size(path), useBytes = TRUE), text)
  expected <- ml_transform(f$model, f$tbl)
  for (loaded in list(lightgbm_load_native_model(sc, text = text), lightgbm_load_native_model(sc, path = path))) {
    expect_null(compare_frames(sdf_register(invoke(loaded, "transform", spark_dataframe(f$tbl))), expected))
  }
  expect_error(lightgbm_load_native_model(sc), "give one of `text` or `path`")
})

test_that("importances, SHAP values, leaves and booster counts describe the fitted trees", {
  need_jvm()
  f <- lightgbm_fixture()
  info <- lightgbm_booster_info(f$model)
  expect_identical(info, list(num_iterations = 6L, num_trees = 6L, num_features = 3L, num_classes = 1L,
                              best_iteration = -1L))
  split <- lightgbm_feature_importances(f$model, "split")
  gain <- lightgbm_feature_importances(f$model, "gain")
  expect_length(split, 3L)
  expect_length(gain, 3L)
  expect_true(all(split >= 0 & split == round(split)) && sum(split) > 0)
  expect_identical(split > 0, gain > 0)  # a feature gains only where it splits
  # Each row's raw score, as Spark's transform gives it: rawPrediction is [-s, s] for LightGBM's one binary score.
  rows <- lapply(collect_json(ml_transform(f$model, f$tbl)), parse_json)
  for (row in rows[c(1L, 50L, 100L)]) {
    features <- c(row$a, row$b, row$c)
    score <- row$rawPrediction$values[[2]]
    shaps <- lightgbm_feature_shaps(f$model, features)
    expect_length(shaps, 4L)
    expect_equal(sum(shaps), score, tolerance = 1e-9)
    leaves <- lightgbm_predict_leaf(f$model, features)
    expect_length(leaves, 6L)
    expect_true(all(leaves >= 0L & leaves < 4L))
  }
  expect_error(lightgbm_feature_shaps(f$model, c(1, NA, 2)), "NaN for a missing value, not NA")
})
