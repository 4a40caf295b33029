package irbis.featurize

import java.nio.charset.StandardCharsets.UTF_8

import scala.jdk.CollectionConverters._

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.Path
import org.apache.spark.sql.SparkSession
import org.json4s._

/**
 * A catalogue of models: a JSON document `{"format": 1, "models": [schema, ...]}` kept in a file (any Hadoop
 * path) or, for the default catalogue, in the jar. Names are unique.
 */
final class ModelRepository(val models: Seq[ModelSchema]) {
  locally {
    val dup = models.groupBy(_.name).collect { case (n, s) if s.size > 1 => n }
    ModelSchema.check(dup.isEmpty, s"the catalogue names model(s) ${dup.toSeq.sorted.mkString(", ")} more than once")
  }

  def listModels: Seq[ModelSchema] = models
  def listModelsJava: java.util.List[ModelSchema] = models.asJava
  def names: Array[String] = models.map(_.name).toArray

  def get(name: String): ModelSchema = models.find(_.name == name).getOrElse(throw new NoSuchElementException(
      s"the catalogue has no model named '$name'; it has: ${models.map(_.name).mkString(", ")}"))

  /** This catalogue with `schema` added, or replacing the model of the same name. */
  def withModel(schema: ModelSchema): ModelRepository =
    new ModelRepository(models.filterNot(_.name == schema.name) :+ schema)

  def toJson: String = ModelSchema.prettyJson(JObject(
      "format" -> JInt(ModelRepository.Format), "models" -> JArray(models.map(_.toJValue).toList))) + "\n"

  def save(path: String, spark: SparkSession): Unit = save(path, spark.sparkContext.hadoopConfiguration)

  /** Writes the catalogue to a file on any Hadoop file system (replacing it). */
  def save(path: String, conf: Configuration): Unit = {
    val p = new Path(path)
    val out = p.getFileSystem(conf).create(p, true)
    try out.write(toJson.getBytes(UTF_8))
    finally out.close()
  }

  override def equals(other: Any): Boolean = other match {
    case r: ModelRepository => r.models == models
    case _ => false
  }
  override def hashCode: Int = models.hashCode
  override def toString: String = s"ModelRepository(${models.map(_.name).mkString(", ")})"
}

object ModelRepository {
  val Format = 1

  /** The catalogue shipped in the jar. */
  val DefaultResource = "irbis/featurize/models.json"

  lazy val bundled: ModelRepository = {
    val in = Option(getClass.getClassLoader.getResourceAsStream(DefaultResource)).getOrElse(
      throw new IllegalStateException(s"the Irbis jar lacks its model catalogue $DefaultResource"))
    try fromJson(new String(in.readAllBytes(), UTF_8), s"the default catalogue ($DefaultResource)")
    finally in.close()
  }

  def fromJson(json: String): ModelRepository = fromJson(json, "the catalogue")

  /** `origin` (a path or a description) starts every error message. */
  def fromJson(json: String, origin: String): ModelRepository =
    ModelSchema.parseJson(json, origin) match {
      case JObject(pairs) =>
        val fields = pairs.toMap
        fields.get("format") match {
          case Some(JInt(f)) if f == Format =>
          case Some(JLong(f)) if f == Format =>
          case Some(other) =>
            throw new IllegalArgumentException(s"$origin: format ${compact(other)} is not supported; " +
              s"this Irbis reads format $Format")
          case None => throw new IllegalArgumentException(s"$origin: field 'format' is missing (expected $Format)")
        }
        fields.get("models") match {
          case Some(JArray(items)) => new ModelRepository(items.zipWithIndex.map { case (item, i) =>
              ModelSchema.fromJValue(item, s"$origin: entry $i")
            })
          case _ => throw new IllegalArgumentException(s"$origin: field 'models' must be an array of model schemas")
        }
      case _ =>
        throw new IllegalArgumentException(s"$origin must be a JSON object {\"format\": $Format, \"models\": [...]}")
    }

  def load(path: String, spark: SparkSession): ModelRepository = load(path, spark.sparkContext.hadoopConfiguration)

  /** Reads a catalogue file from any Hadoop path. */
  def load(path: String, conf: Configuration): ModelRepository = {
    val p = new Path(path)
    val fs = p.getFileSystem(conf)
    ModelSchema.check(fs.exists(p), s"model catalogue $path does not exist")
    val in = fs.open(p)
    val text = try new String(in.readAllBytes(), UTF_8)
    finally in.close()
    fromJson(text, s"model catalogue $path")
  }

  private def compact(v: JValue): String =
    org.json4s.jackson.JsonMethods.compact(org.json4s.jackson.JsonMethods.render(v))
}
