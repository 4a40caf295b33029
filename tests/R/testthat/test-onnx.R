# ONNXModel from R: introspection, transforming a tbl_spark, and values that match the graph's definition
# (multi_io.onnx: scaled = 2 * a, total = row sum of b).

test_that("an ONNX model built in R introspects, transforms and saves", {
  need_jvm()
  model_file <- normalizePath(file.path(irbis_root, "core/src/test/resources/irbis/onnx/multi_io.onnx"))
  stage <- ft_onnx_model(sc, model_location = model_file, feed_dict = list(a = "a", b = "b"),
                                   fetch_dict = list(scaled = "scaled", total = "total"))
  inputs <- onnx_model_inputs(stage)
  expect_setequal(names(inputs), c("a", "b"))
  expect_identical(inputs$a$type, "FLOAT")
  expect_identical(unlist(inputs$a$shape), c(-1L, 3L))
  expect_setequal(names(onnx_model_outputs(stage)), c("scaled", "total", "positive", "as_double"))

  df <- sdf_register(invoke_static(sc, "irbis.onnx.TestModels", "multiIoInput", spark_session(sc)))
  out <- spark_dataframe(ft_onnx_model(df, model_location = model_file, feed_dict = list(a = "a", b = "b"),
                                                 fetch_dict = list(scaled = "scaled", total = "total")))
  rows <- jsonlite::fromJSON(paste0("[", paste(unlist(invoke(invoke(out, "toJSON"), "collect")), collapse = ","), "]"),
                             simplifyVector = FALSE)
  for (r in rows) {
    if (is.null(r$a)) { expect_null(r$scaled); next }
    expect_equal(unlist(r$scaled), 2 * unlist(r$a))
    expect_equal(r$total, sum(unlist(r$b)))
  }
})

test_that("an ONNX model survives ml_save and ml_load from R, payload included", {
  need_jvm()
  model_file <- file.path(tempfile("onnx-"), "multi_io.onnx")
  dir.create(dirname(model_file))
  file.copy(file.path(irbis_root, "core/src/test/resources/irbis/onnx/multi_io.onnx"), model_file)
  stage <- ft_onnx_model(sc, model_location = model_file, feed_dict = list(a = "a", b = "b"),
                                   fetch_dict = list(total = "total"))
  df <- sdf_register(invoke_static(sc, "irbis.onnx.TestModels", "multiIoInput", spark_session(sc)))
  expected <- ml_transform(stage, df)
  path <- file.path(tempfile("irbis-r-"), "onnx")
  ml_save(stage, path)
  unlink(model_file)
  loaded <- ml_load(sc, path)
  expect_identical(loaded$uid, stage$uid)
  expect_null(compare_frames(ml_transform(loaded, df), expected))
})
