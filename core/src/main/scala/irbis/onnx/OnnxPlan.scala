package irbis.onnx

import org.apache.spark.sql.types.DataType

/** One graph input fed from one column; `rank` is the input's declared rank, -1 when it declares no shape. */
case class FeedSpec(input: String, column: String, index: Int, dataType: DataType, rank: Int)

/**
 * One graph output written to one column; `vector` asks for an ML vector instead of an array. `rank` is the
 * output's rank as ONNX Runtime infers it, -1 when unknown (the column then holds each row's shape and values).
 */
case class FetchSpec(output: String, column: String, dataType: DataType, vector: Boolean, rank: Int)

/** A softmax or argmax column derived from a fetched output column in the same pass. */
case class DerivedSpec(source: String, column: String, op: String, dataType: DataType)

/**
 * How rows become ONNX Runtime calls. `stacked`: rows are stacked on axis 0 of every input (else each row
 * holds the whole tensors of one call); `fixed`: the model's own batch size (the last call is padded);
 * `oneRow`: one row per call, where nothing in the graph shows that stacking rows keeps them apart.
 */
case class Batching(stacked: Boolean, fixed: Option[Int], oneRow: Boolean)

/** Everything an executor needs to run the model over a partition; serialisable, unlike ORT's own objects. */
case class OnnxPlan(stage: String, feeds: Seq[FeedSpec], fetches: Seq[FetchSpec], derived: Seq[DerivedSpec],
                    batchSize: Int, withErrors: Boolean, batching: Batching)
