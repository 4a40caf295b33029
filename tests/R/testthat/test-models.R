# The model catalogue and downloader from R: a catalogue file written in R, a verified download of the shared
# EfficientNet-Lite0 file, a refused digest, the bundled catalogue's converter entry, and the downloaded model
# loaded into ImageFeaturizer giving the features of the original file.

shared_model <- function() {
  path <- file.path(dirname(irbis_root), "shared", "models", "efficientnet_lite0.onnx")
  if (!file.exists(path)) skip(paste("the shared model is not at", path))
  normalizePath(path)
}

# The digest from the sha256sum tool, independent of the JVM's.
sha256_of <- function(path) strsplit(system2("sha256sum", path, stdout = TRUE), " ")[[1]][[1]]

shared_entry <- function(name = "Lite0", sha = sha256_of(shared_model())) {
  list(name = name, uri = shared_model(), sha256 = sha, size = file.size(shared_model()), inputNode = "input",
       layerNames = list("logits", "features"), modelType = "image-classifier", dataset = "ImageNet-1k",
       preprocessing = list(inputSize = 224L, resizeShortSide = 256L, channelOrder = "RGB", scale = 1 / 255,
                            mean = c(0.5, 0.5, 0.5), std = c(0.5, 0.5, 0.5)),
       license = "Apache-2.0")
}

write_catalogue <- function(entries) {
  path <- tempfile("catalogue-", fileext = ".json")
  writeLines(as.character(jsonlite::toJSON(list(format = 1L, models = entries), auto_unbox = TRUE, digits = NA)), path)
  path
}

test_that("the bundled catalogue lists EfficientNet-Lite0, whose converter only Python runs", {
  need_jvm()
  models <- ml_list_models(sc)
  expect_identical(names(models), "EfficientNetLite0")
  expect_identical(models$EfficientNetLite0$uri, "convert:irbis.models.efficientnet_lite")
  expect_identical(unlist(models$EfficientNetLite0$layerNames)[1:2], c("logits", "features"))
  dir <- tempfile("models-")
  downloader <- ml_model_downloader(sc, dir)
  expect_error(ml_download_model(downloader, "EfficientNetLite0"),
               "is made by the Python converter irbis.models.efficientnet_lite.*downloadByName\\('EfficientNetLite0'\\)")
  expect_false(file.exists(file.path(dir, "EfficientNetLite0.onnx")))
})

test_that("a catalogue file written in R downloads verified models and refuses a wrong digest", {
  need_jvm()
  wrong <- paste(rep("0", 64), collapse = "")
  catalogue <- write_catalogue(list(shared_entry(), shared_entry("Bad", sha = wrong)))
  dir <- tempfile("models-")
  downloader <- ml_model_downloader(sc, dir, catalogue = catalogue)
  expect_identical(names(ml_list_models(downloader)), c("Lite0", "Bad"))
  schema <- ml_download_model(downloader, "Lite0")
  expect_identical(schema$uri, paste0("file:", normalizePath(dir), "/Lite0.onnx"))
  expect_identical(sha256_of(file.path(dir, "Lite0.onnx")), sha256_of(shared_model()))
  expect_error(ml_download_model(downloader, "Bad"),
               sprintf("model 'Bad': SHA-256 mismatch for %s: expected %s, got %s", shared_model(), wrong,
                       sha256_of(shared_model())), fixed = TRUE)
  expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), "Lite0.onnx")
  expect_error(ml_download_model(downloader, "Nope"), "the catalogue has no model named 'Nope'")
})

test_that("a downloaded model loads into ImageFeaturizer and gives the features of the original file", {
  need_jvm()
  dir <- file.path(dirname(irbis_root), "shared", "data", "camera-traps", "other")
  if (!dir.exists(dir)) skip(paste("the camera-trap images are not at", dir))
  reader <- invoke(invoke(invoke(spark_session(sc), "read"), "format", "binaryFile"), "option", "pathGlobFilter",
                   "african_elephants*.jpg")
  images <- sdf_register(invoke(reader, "load", normalizePath(dir)))
  downloader <- ml_model_downloader(sc, tempfile("models-"), catalogue = write_catalogue(list(shared_entry())))
  schema <- ml_download_model(downloader, "Lite0")
  stage <- image_featurizer_set_model(ft_image_featurizer(sc, input_col = "content"), schema)
  expect_true(inherits(stage, "ml_transformer"))
  reference <- ft_image_featurizer(sc, input_col = "content", model_location = shared_model(),
                                             mean = c(0.5, 0.5, 0.5), std = c(0.5, 0.5, 0.5))
  expect_null(compare_frames(ml_transform(stage, images), ml_transform(reference, images)))
  expect_error(image_featurizer_set_model(ft_image_featurizer(sc), list(uri = "x")),
               "`schema` must be a model schema")
})
