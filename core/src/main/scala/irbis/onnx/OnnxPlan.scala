package irbis.onnx

import org.apache.spark.sql.types.DataType

/** One graph input fed from one column. */
case class FeedSpec(input: String, column: String, index: Int, dataType: DataType)

/** One graph output written to one column; `vector` asks for an ML vector instead of an array. */
case class FetchSpec(output: String, column: String, dataType: DataType, vector: Boolean)

/** A softmax or argmax column derived from a fetched output column in the same pass. */
case class DerivedSpec(source: String, column: String, op: String, dataType: DataType)

/** Everything an executor needs to run the model over a partition; serialisable, unlike ORT's own objects. */
case class OnnxPlan(stage: String, feeds: Seq[FeedSpec], fetches: Seq[FetchSpec], derived: Seq[DerivedSpec],
                    batchSize: Int, withErrors: Boolean)
