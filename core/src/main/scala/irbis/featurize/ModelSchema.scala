package irbis.featurize

import java.net.URI

import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, pretty, render}

/**
 * One model of a catalogue: where its bytes are, what they must hash to, and what a featurizer needs to know
 * to run it. A schema returned by a download has `uri` pointing at the verified local (or Hadoop) copy.
 *
 * @param name          unique in its catalogue; also the downloaded file's name (`<name>.onnx`)
 * @param uri           where the bytes come from: a Hadoop path (`/abs/path`, `file:`, `hdfs:`, ...), an
 *                      `http(s):` URL, or `convert:<python module>` for models that the Python package makes
 * @param sha256        the file's SHA-256, 64 lower-case hex digits
 * @param size          the file's length in bytes
 * @param inputNode     the graph input the image tensor feeds
 * @param layerNames    tensors from the output backwards: `layerNames(k)` is what `cutOutputLayers = k` exposes
 *                      (`layerNames(0)` is the model's output)
 * @param modelType     what the model does, e.g. `image-classifier`
 * @param dataset       what it was trained on, e.g. `ImageNet-1k`
 * @param preprocessing the image preparation, with the keys of the ONNX 'preprocessing' metadata that
 *                      ImageFeaturizer reads (inputSize, resizeShortSide, channelOrder, scale, mean, std, ...)
 * @param license       the weights' license
 */
final case class ModelSchema(name: String, uri: String, sha256: String, size: Long, inputNode: String,
                             layerNames: Seq[String], modelType: String, dataset: String,
                             preprocessing: Map[String, JValue], license: String) {
  import ModelSchema._

  check(name != null && NamePattern.matches(name),
    s"model name ${quoted(name)} must be 1-100 letters, digits, '.', '_' or '-' (not starting with '.'): " +
      "it names a file")
  private def where = s"model '$name'"
  check(uri != null && uri.nonEmpty, s"$where: uri is empty")
  check(sha256 != null && Sha256Pattern.matches(sha256),
    s"$where: sha256 must be 64 lower-case hex digits, got ${quoted(sha256)}")
  check(size >= 0, s"$where: size must be >= 0 bytes, got $size")
  check(inputNode != null && inputNode.nonEmpty, s"$where: inputNode is empty")
  check(layerNames != null && layerNames.forall(n => n != null && n.nonEmpty),
    s"$where: layerNames has an empty name")
  check(modelType != null && dataset != null && license != null,
    s"$where: modelType, dataset and license may be empty but not null")
  check(preprocessing != null && !preprocessing.values.exists(_ == null), s"$where: preprocessing has a null value")
  locally(scheme) // validates the uri

  /** The uri's scheme in lower case (`http`, `https`, `convert`, `file`, `hdfs`, ...); "" for a bare path. */
  def scheme: String = {
    val s = try Option(new URI(uri).getScheme)
    catch {
      case e: java.net.URISyntaxException => throw new IllegalArgumentException(s"$where: uri '$uri' is not a valid " +
          s"URI or path: ${e.getMessage}")
    }
    s.map(_.toLowerCase).getOrElse("")
  }

  /** Made by a Python converter rather than copied: `convert:<module>`. */
  def isConverted: Boolean = scheme == "convert"

  /** The Python module of a `convert:` uri. */
  def converterModule: String = {
    check(isConverted, s"$where: uri '$uri' is not a convert: uri")
    uri.substring("convert:".length)
  }

  def fileName: String = s"$name.onnx"
  def withUri(newUri: String): ModelSchema = copy(uri = newUri)
  def layerNamesArray: Array[String] = layerNames.toArray

  def toJValue: JValue = JObject(
    "name" -> JString(name), "uri" -> JString(uri), "sha256" -> JString(sha256), "size" -> JLong(size),
    "inputNode" -> JString(inputNode), "layerNames" -> JArray(layerNames.map(JString(_)).toList),
    "modelType" -> JString(modelType), "dataset" -> JString(dataset),
    "preprocessing" -> JObject(preprocessing.toList.sortBy(_._1)), "license" -> JString(license))

  def toJson: String = compact(render(toJValue))
  def preprocessingJson: String = compact(render(JObject(preprocessing.toList.sortBy(_._1))))
  override def toString: String = s"ModelSchema($toJson)"
  // By JSON text: json4s tells JInt(224) from JLong(224), which a catalogue file cannot.
  override def equals(other: Any): Boolean = other match {
    case s: ModelSchema => s.toJson == toJson
    case _ => false
  }
  override def hashCode: Int = toJson.hashCode
}

object ModelSchema {
  private val NamePattern = "[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}".r
  private val Sha256Pattern = "[0-9a-f]{64}".r
  private val Fields = Seq("name", "uri", "sha256", "size", "inputNode", "layerNames", "modelType", "dataset",
    "preprocessing", "license")

  /** Like `require`, without its "requirement failed: " prefix: the message is the whole story. */
  private[featurize] def check(ok: Boolean, message: => String): Unit =
    if (!ok) throw new IllegalArgumentException(message)

  private def quoted(s: String): String = if (s == null) "null" else s"'$s'"

  def fromJson(json: String): ModelSchema = fromJValue(parseJson(json, "a model schema"), "model schema")

  private[featurize] def parseJson(json: String, what: String): JValue =
    try parse(json, useBigDecimalForDouble = false, useBigIntForLong = true)
    catch {
      case e: Exception => throw new IllegalArgumentException(s"$what is not valid JSON: ${e.getMessage}")
    }

  /** Reads one schema; `where` (e.g. "catalogue entry 3") starts every error message. */
  private[featurize] def fromJValue(value: JValue, where: String): ModelSchema = value match {
    case JObject(pairs) =>
      val fields = pairs.toMap
      val unknown = fields.keySet -- Fields
      check(unknown.isEmpty,
        s"$where: unknown field(s) ${unknown.toSeq.sorted.mkString(", ")}; the fields are " +
          Fields.mkString(", "))
      val named = fields.get("name").collect { case JString(n) => s"$where ('$n')" }.getOrElse(where)
      def field(key: String): JValue = fields.getOrElse(key,
        throw new IllegalArgumentException(s"$named: field '$key' is missing"))
      def fail(key: String, expected: String) = throw new IllegalArgumentException(
        s"$named: field '$key' must be $expected, got ${compact(render(field(key)))}")
      def string(key: String): String = field(key) match { case JString(s) => s; case _ => fail(key, "a string") }
      val size = field("size") match {
        case JInt(n) if n.isValidLong => n.toLong
        case JLong(n) => n
        case _ => fail("size", "a whole number of bytes")
      }
      val layers = field("layerNames") match {
        case JArray(items) if items.forall(_.isInstanceOf[JString]) => items.collect { case JString(s) => s }
        case _ => fail("layerNames", "an array of strings")
      }
      val pre = field("preprocessing") match {
        case JObject(kv) => kv.toMap
        case _ => fail("preprocessing", "a JSON object")
      }
      try ModelSchema(string("name"), string("uri"), string("sha256"), size, string("inputNode"), layers,
          string("modelType"), string("dataset"), pre, string("license"))
      catch { case e: IllegalArgumentException => throw new IllegalArgumentException(s"$where: ${e.getMessage}", e) }
    case other => throw new IllegalArgumentException(s"$where must be a JSON object, got ${compact(render(other))}")
  }

  private[featurize] def prettyJson(value: JValue): String = pretty(render(value))
}
