package irbis.onnx

import java.io.ByteArrayOutputStream
import java.nio.charset.StandardCharsets.UTF_8

import scala.collection.mutable

/**
 * Exposes an inner tensor of an ONNX model as its only output, by editing the model's protobuf bytes.
 * ONNX Runtime can fetch only declared graph outputs, and the `onnx` protobuf classes are not a dependency,
 * so this reads and writes the few fields it needs with a minimal wire-format codec and copies every other
 * field byte for byte (so the model's metadata stays readable by ONNX Runtime).
 *
 * The chosen tensor goes through an added Flatten node (axis 1), so that any inner tensor becomes one
 * vector per row: a declared output of rank 2 with symbolic dimensions, which ONNXModel returns as ML vectors.
 */
object OnnxGraphCut {

  /** The added graph output's name. */
  val Output = "__irbis_output"

  /** What the cut needs to know about a model: its graph's wiring and its metadata. */
  final case class Node(inputs: Seq[String], outputs: Seq[String], name: String, opType: String, hasSubgraph: Boolean)
  final case class Graph(nodes: Seq[Node], initializers: Set[String], inputs: Seq[String], outputs: Seq[String],
                         elemTypes: Map[String, Int]) {

    /** Graph inputs that are fed by the caller (not initializers, which old IR versions also list as inputs). */
    def feeds: Seq[String] = inputs.filterNot(initializers)
    def tensors: Seq[String] = (feeds ++ nodes.flatMap(_.outputs)).filter(_.nonEmpty).distinct
  }

  def graph(model: Array[Byte]): Graph = parseGraph(model, graphField(model))

  /**
   * The tensor `layers` nodes back from the single graph output: the first non-constant input of the node
   * that produces the output (layers = 1), of the node that produces that input (layers = 2), and so on.
   */
  def tensorBack(g: Graph, layers: Int, stage: String): String = {
    require(layers >= 1, s"$stage: cutOutputLayers must be >= 1, got $layers")
    require(g.outputs.size == 1,
      s"$stage: the graph has ${g.outputs.size} outputs (${g.outputs.mkString(", ")}); " +
        "cutOutputLayers needs a single output: name the tensor to expose with outputNode")
    val producer = g.nodes.flatMap(n => n.outputs.map(_ -> n)).toMap
    (1 to layers).foldLeft(g.outputs.head) { (tensor, step) =>
      val node = producer.getOrElse(tensor,
        throw new IllegalArgumentException(
          s"$stage: cutOutputLayers = $layers is deeper than the graph: '$tensor', reached after ${step - 1} " +
            s"step(s) back from output '${g.outputs.head}', is a graph input, not a node's output"))
      node.inputs.find(i => i.nonEmpty && !g.initializers.contains(i)).getOrElse(throw new IllegalArgumentException(
          s"$stage: cutOutputLayers = $layers: node '${node.name}' (${node.opType}), $step step(s) back, reads " +
            "only constants, so there is nothing further back to expose"))
    }
  }

  /** A copy of `model` whose only output is `tensor`, flattened per row; nodes it does not need are dropped. */
  def expose(model: Array[Byte], tensor: String, stage: String, what: String = "outputNode"): Array[Byte] = {
    val gf = graphField(model)
    val g = parseGraph(model, gf)
    if (!g.tensors.contains(tensor)) {
      val known = g.tensors
      val shown = if (known.size <= 60) known.mkString(", ")
      else known.take(30).mkString(", ") + s", ... (${known.size - 60} more) ..., " + known.takeRight(30).mkString(", ")
      throw new IllegalArgumentException(
        s"$stage: $what '$tensor' is not a tensor of the graph. Its tensors (inputs and node outputs, in " +
          s"graph order): $shown")
    }
    val keep = neededNodes(g, tensor)
    // Initializers that no kept node reads are dropped too (ONNX Runtime would warn about each); those also
    // listed as graph inputs stay, or they would become inputs that the caller must feed. Subgraphs may read
    // any initializer, so then all stay.
    val subgraphs = g.nodes.exists(_.hasSubgraph)
    val read = g.nodes.indices.filter(keep).flatMap(i => g.nodes(i).inputs).toSet ++ g.inputs + tensor
    val graphOut = new ByteArrayOutputStream(gf.end - gf.payloadStart + 256)
    var nodeIndex = 0
    Wire.fields(model, gf.payloadStart, gf.end, "GraphProto").foreach { f =>
      f.number match {
        case 1 =>
          if (keep(nodeIndex)) graphOut.write(model, f.start, f.end - f.start)
          nodeIndex += 1
        case 5
            if !subgraphs &&
              !Wire.string(model, Wire.fields(model, f.payloadStart, f.end, "TensorProto"), 8).forall(read) =>
        case 12 =>
        case _ => graphOut.write(model, f.start, f.end - f.start)
      }
    }
    val flatten = new ByteArrayOutputStream()
    Wire.writeString(flatten, 1, tensor)
    Wire.writeString(flatten, 2, Output)
    Wire.writeString(flatten, 3, "__irbis_flatten")
    Wire.writeString(flatten, 4, "Flatten")
    Wire.writeBytes(graphOut, 1, flatten.toByteArray)
    Wire.writeBytes(graphOut, 12, valueInfo(Output, g.elemTypes.getOrElse(tensor, 1)))
    val newGraph = graphOut.toByteArray

    val out = new ByteArrayOutputStream(model.length + 256)
    Wire.fields(model, 0, model.length, "ModelProto").foreach { f =>
      if (f.number == 7) Wire.writeBytes(out, 7, newGraph) else out.write(model, f.start, f.end - f.start)
    }
    out.toByteArray
  }

  /**
   * A copy of `model` whose graph input `input` declares the given dims (a negative dim keeps the model's
   * own, e.g. the symbolic batch): a model with symbolic height and width then takes flat tensors of one
   * size, which is all a caller feeding fixed-size images needs. Every other byte is kept.
   */
  def fixInputShape(model: Array[Byte], input: String, dims: Seq[Long]): Array[Byte] = {
    val gf = graphField(model)
    def sub(f: Wire.Field, what: String) = Wire.fields(model, f.payloadStart, f.end, what)
    def isInput(f: Wire.Field) = f.number == 11 && Wire.string(model, sub(f, "ValueInfoProto"), 1).contains(input)
    val graphFields = Wire.fields(model, gf.payloadStart, gf.end, "GraphProto")
    require(graphFields.exists(isInput), s"the ONNX graph has no input '$input'")

    /** Rewrites the message [f.payloadStart, f.end) field by field: `edit` returns a field's new encoding. */
    def rewrite(f: Wire.Field, what: String)(edit: PartialFunction[Wire.Field, Array[Byte]]): Array[Byte] = {
      val out = new ByteArrayOutputStream(f.end - f.payloadStart + 32)
      sub(f, what).foreach(x =>
        if (edit.isDefinedAt(x)) out.write(edit(x)) else out.write(model, x.start, x.end - x.start))
      out.toByteArray
    }
    def field(number: Int, payload: Array[Byte]): Array[Byte] = {
      val out = new ByteArrayOutputStream(payload.length + 8)
      Wire.writeBytes(out, number, payload)
      out.toByteArray
    }
    def shape(f: Wire.Field): Array[Byte] = {
      val old = sub(f, "TensorShapeProto").filter(_.number == 1)
      require(old.size == dims.size, s"graph input '$input' has ${old.size} dims, not ${dims.size}")
      val out = new ByteArrayOutputStream()
      old.zip(dims).foreach { case (d, v) =>
        if (v < 0) out.write(model, d.start, d.end - d.start)
        else {
          val dim = new ByteArrayOutputStream()
          Wire.writeVarintField(dim, 1, v)
          Wire.writeBytes(out, 1, dim.toByteArray)
        }
      }
      field(2, out.toByteArray)
    }
    val graphOut = new ByteArrayOutputStream(gf.end - gf.payloadStart + 64)
    graphFields.foreach { f =>
      if (isInput(f)) graphOut.write(field(11,
          rewrite(f, "ValueInfoProto") {
            case t if t.number == 2 =>
              field(2,
                rewrite(t, "TypeProto") {
                  case tt if tt.number == 1 =>
                    field(1, rewrite(tt, "TypeProto.Tensor") { case s if s.number == 2 => shape(s) })
                })
          }))
      else graphOut.write(model, f.start, f.end - f.start)
    }
    val out = new ByteArrayOutputStream(model.length + 64)
    Wire.fields(model, 0, model.length, "ModelProto").foreach { f =>
      if (f.number == 7) Wire.writeBytes(out, 7, graphOut.toByteArray) else out.write(model, f.start, f.end - f.start)
    }
    out.toByteArray
  }

  /**
   * The graph inputs and outputs whose tensor type declares no shape at all (rank unknown). ONNX Runtime reports
   * them with the empty shape of a scalar, so only the model itself tells the two apart.
   */
  def shapeless(model: Array[Byte]): Set[String] = {
    val gf = graphField(model)
    def sub(f: Wire.Field, what: String) = Wire.fields(model, f.payloadStart, f.end, what)
    Wire.fields(model, gf.payloadStart, gf.end, "GraphProto").filter(f => f.number == 11 || f.number == 12).flatMap {
      f =>
        val vf = sub(f, "ValueInfoProto")
        val tensor =
          vf.find(_.number == 2).flatMap(t => sub(t, "TypeProto").find(x => x.number == 1 && x.wireType == 2))
        tensor.filterNot(tt => sub(tt, "TypeProto.Tensor").exists(_.number == 2)).flatMap(_ =>
          Wire.string(model, vf, 1))
    }.toSet
  }

  /**
   * Which nodes (by position) the tensor depends on. Nodes with subgraphs (If, Loop, Scan) may read outer
   * tensors that their inputs do not list, so a graph with any of them keeps every node.
   */
  private def neededNodes(g: Graph, tensor: String): Int => Boolean = {
    if (g.nodes.exists(_.hasSubgraph)) return _ => true
    val producer = g.nodes.zipWithIndex.flatMap { case (n, i) => n.outputs.map(_ -> i) }.toMap
    val needed = mutable.Set.empty[Int]
    val todo = mutable.Stack(tensor)
    while (todo.nonEmpty) producer.get(todo.pop()).foreach { i =>
      if (needed.add(i)) g.nodes(i).inputs.filter(_.nonEmpty).foreach(todo.push)
    }
    needed.contains
  }

  /** ValueInfoProto {name, type: tensor_type {elem_type, shape [batch, features]}}. */
  private def valueInfo(name: String, elemType: Int): Array[Byte] = {
    def dim(param: String): Array[Byte] = {
      val d = new ByteArrayOutputStream(); Wire.writeString(d, 2, param); d.toByteArray
    }
    val shape = new ByteArrayOutputStream()
    Wire.writeBytes(shape, 1, dim("batch"))
    Wire.writeBytes(shape, 1, dim("features"))
    val tensorType = new ByteArrayOutputStream()
    Wire.writeVarintField(tensorType, 1, elemType)
    Wire.writeBytes(tensorType, 2, shape.toByteArray)
    val typeProto = new ByteArrayOutputStream()
    Wire.writeBytes(typeProto, 1, tensorType.toByteArray)
    val vi = new ByteArrayOutputStream()
    Wire.writeString(vi, 1, name)
    Wire.writeBytes(vi, 2, typeProto.toByteArray)
    vi.toByteArray
  }

  private def graphField(model: Array[Byte]): Wire.Field =
    Wire.fields(model, 0, model.length, "ModelProto").find(_.number == 7)
      .getOrElse(throw new IllegalArgumentException("the ONNX model has no graph"))

  private def parseGraph(b: Array[Byte], gf: Wire.Field): Graph = {
    val fields = Wire.fields(b, gf.payloadStart, gf.end, "GraphProto")
    def sub(f: Wire.Field, what: String) = Wire.fields(b, f.payloadStart, f.end, what)
    val nodes = fields.filter(_.number == 1).map { f =>
      val nf = sub(f, "NodeProto")
      val subgraph =
        nf.filter(_.number == 5).exists(a => sub(a, "AttributeProto").exists(x => x.number == 6 || x.number == 11))
      Node(Wire.strings(b, nf, 1), Wire.strings(b, nf, 2), Wire.string(b, nf, 3).getOrElse(""),
        Wire.string(b, nf, 4).getOrElse(""), subgraph)
    }
    val initializers = fields.filter(_.number == 5).flatMap(f => Wire.string(b, sub(f, "TensorProto"), 8)).toSet
    def infos(number: Int): Seq[(String, Option[Int])] = fields.filter(_.number == number).map { f =>
      val vf = sub(f, "ValueInfoProto")
      val elem = vf.find(_.number == 2).flatMap(t => sub(t, "TypeProto").find(_.number == 1))
        .flatMap(tt => sub(tt, "TypeProto.Tensor").find(x => x.number == 1 && x.wireType == 0)).map(x =>
          Wire.varint(b, x.payloadStart)._1.toInt)
      (Wire.string(b, vf, 1).getOrElse(""), elem)
    }
    val (inputs, outputs, valueInfos) = (infos(11), infos(12), infos(13))
    val elemTypes = (valueInfos ++ inputs ++ outputs).collect { case (n, Some(t)) => n -> t }.toMap
    Graph(nodes, initializers, inputs.map(_._1), outputs.map(_._1), elemTypes)
  }
}

/** The protobuf wire format, as far as reading fields and writing varints, strings and messages goes. */
private[onnx] object Wire {

  /** One field: the whole encoding is [start, end); a varint's or a length-delimited value's payload starts at payloadStart. */
  final case class Field(number: Int, wireType: Int, start: Int, payloadStart: Int, end: Int)

  def varint(b: Array[Byte], at: Int): (Long, Int) = {
    var result = 0L
    var shift = 0
    var i = at
    while (true) {
      if (i >= b.length || shift > 63)
        throw new IllegalArgumentException("the ONNX model is not valid protobuf (bad varint)")
      val x = b(i)
      result |= (x & 0x7fL) << shift
      i += 1
      if ((x & 0x80) == 0) return (result, i)
      shift += 7
    }
    throw new IllegalStateException
  }

  def fields(b: Array[Byte], from: Int, to: Int, what: String): Seq[Field] = {
    val out = Seq.newBuilder[Field]
    var i = from
    def bad(why: String) = new IllegalArgumentException(s"the ONNX model is not valid protobuf: $what $why")
    while (i < to) {
      val (tag, afterTag) = varint(b, i)
      val (number, wireType) = ((tag >>> 3).toInt, (tag & 7).toInt)
      val (payloadStart, end) = wireType match {
        case 0 => (afterTag, varint(b, afterTag)._2)
        case 1 => (afterTag, afterTag + 8)
        case 2 =>
          val (len, afterLen) = varint(b, afterTag)
          if (len < 0 || afterLen + len > to) throw bad(s"field $number runs past its message")
          (afterLen, afterLen + len.toInt)
        case 5 => (afterTag, afterTag + 4)
        case w => throw bad(s"field $number has wire type $w")
      }
      if (end > to) throw bad(s"field $number runs past its message")
      out += Field(number, wireType, i, payloadStart, end)
      i = end
    }
    out.result()
  }

  def strings(b: Array[Byte], fs: Seq[Field], number: Int): Seq[String] =
    fs.filter(f => f.number == number && f.wireType == 2).map(f =>
      new String(b, f.payloadStart, f.end - f.payloadStart, UTF_8))

  def string(b: Array[Byte], fs: Seq[Field], number: Int): Option[String] = strings(b, fs, number).lastOption

  def writeVarint(out: ByteArrayOutputStream, value: Long): Unit = {
    var v = value
    while ((v & ~0x7fL) != 0) { out.write(((v & 0x7f) | 0x80).toInt); v >>>= 7 }
    out.write(v.toInt)
  }

  def writeVarintField(out: ByteArrayOutputStream, number: Int, value: Long): Unit = {
    writeVarint(out, (number.toLong << 3) | 0)
    writeVarint(out, value)
  }

  def writeBytes(out: ByteArrayOutputStream, number: Int, bytes: Array[Byte]): Unit = {
    writeVarint(out, (number.toLong << 3) | 2)
    writeVarint(out, bytes.length.toLong)
    out.write(bytes, 0, bytes.length)
  }

  def writeString(out: ByteArrayOutputStream, number: Int, s: String): Unit = writeBytes(out, number, s.getBytes(UTF_8))
}
