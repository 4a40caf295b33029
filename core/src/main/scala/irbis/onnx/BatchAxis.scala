package irbis.onnx

import ai.onnxruntime.TensorInfo

/**
 * Decides from the whole graph whether rows may be stacked on axis 0 of every input, and refuses a model
 * where that would mix rows: an input whose leading dimension is not the batch (a recurrent state
 * [layers, batch, hidden]) would have layer j of row i read as layer i of row j, with nothing to notice it.
 */
object BatchAxis {

  /** A fed input or fetched output as the plan sees it; `shape` is None when its rank is unknown. */
  final case class Tensor(name: String, shape: Option[Array[Long]], dimNames: Array[String]) {
    def dims: String = shape match {
      case None => "(rank unknown)"
      case Some(s) => s.indices.map { i =>
          if (s(i) >= 0) s(i).toString else Option(dimNames.lift(i).orNull).filter(_.nonEmpty).getOrElse("?")
        }.mkString("[", ", ", "]")
    }
    def show: String = s"'$name' $dims"
    def symbolic(axis: Int): Option[String] =
      shape.filter(s => s.length > axis && s(axis) < 0).flatMap(_ => dimNames.lift(axis)).filter(n =>
        n != null && n.nonEmpty)
  }

  object Tensor {
    def apply(name: String, info: TensorInfo, rankUnknown: Boolean): Tensor =
      Tensor(name, if (rankUnknown) None else Some(info.getShape),
        Option(info.getDimensionNames).getOrElse(Array.empty[String]))
  }

  private val unbatchedHint =
    "Set unbatched to true to run one row per call: each row then holds the whole tensors of one call (the model's " +
      "batch dimension, wherever it is, of size 1 in the row's value) and each output column the whole output tensor."

  /** The batching of a run that stacks rows (unbatched = false), or an error naming the tensors that forbid it. */
  def decide(stage: String, inputs: Seq[Tensor], outputs: Seq[Tensor]): Batching = {
    def refuse(why: String) = throw new IllegalArgumentException(s"$stage: $why. $unbatchedHint")
    val known = inputs.filter(_.shape.isDefined)
    known.find(_.shape.get.isEmpty).foreach(t =>
      refuse(s"graph input ${t.show} is a scalar: it has no batch axis to stack rows on"))
    val (fixed, symbolic) = known.partition(_.shape.get(0) >= 0)
    def disagree(why: String) =
      refuse(s"the graph inputs disagree about the batch axis: ${known.map(_.show).mkString(", ")} ($why)")
    if (fixed.nonEmpty && symbolic.nonEmpty)
      disagree(
        s"${fixed.map(t => s"'${t.name}'").mkString(", ")} fixed, ${symbolic.map(t => s"'${t.name}'").mkString(", ")} free on axis 0")
    if (fixed.map(_.shape.get(0)).distinct.size > 1) disagree("different sizes on axis 0")
    // A name that is the batch on axis 0 of one tensor and found on another axis of another: that one's axis 0
    // is something else. Names that say "batch" count wherever they are.
    val leading = known.flatMap(_.symbolic(0)).toSet
    def misplaced(t: Tensor): Option[String] = t.shape.flatMap(s =>
      (1 until s.length).flatMap(t.symbolic).find(n =>
        leading.contains(n) || n.toLowerCase.contains("batch")))
    known.foreach(t => misplaced(t).foreach(n => disagree(s"'$n' is not on axis 0 of '${t.name}'")))
    val batch = fixed.headOption.map(_.shape.get(0))
    outputs.filter(_.shape.isDefined).foreach { t =>
      val s = t.shape.get
      def noBatch(why: String) =
        throw new IllegalArgumentException(s"$stage: graph output '${t.name}' is a tensor of shape ${t.dims}, " +
          s"but Irbis needs one value per input row: $why. Fetch another output, or export the model with a batch dimension. $unbatchedHint")
      if (s.isEmpty) noBatch("a scalar has no batch dimension")
      else if (s(0) >= 0 && !batch.contains(s(0)))
        noBatch(batch.map(b => s"its first dimension must be the batch size, $b").getOrElse(
            "its first dimension is fixed, so it is not the batch"))
      misplaced(t).foreach(n => noBatch(s"'$n' is not on its axis 0"))
    }
    val unknown = (inputs ++ outputs).filter(_.shape.isEmpty)
    if (unknown.nonEmpty && batch.exists(_ != 1))
      refuse(s"${unknown.map(_.show).mkString(", ")} cannot be stacked into the model's fixed batch of ${batch.get}")
    Batching(stacked = true, fixed = batch.map(_.toInt), oneRow = unknown.nonEmpty)
  }
}
