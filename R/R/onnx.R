# Hand-written additions for ONNX models (the generated ft_onnx_model() builds the stage).

onnx_nodes <- function(x, method) {
  jobj <- if (inherits(x, "spark_jobj")) x else spark_jobj(x)
  jsonlite::fromJSON(invoke(jobj, method), simplifyVector = FALSE)
}

#' @export
onnx_model_inputs <- function(x) onnx_nodes(x, "modelInputsJson")

#' @export
onnx_model_outputs <- function(x) onnx_nodes(x, "modelOutputsJson")
