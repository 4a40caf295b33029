package irbis.serving

import java.nio.charset.StandardCharsets.UTF_8

import scala.jdk.CollectionConverters._

import com.fasterxml.jackson.databind.ObjectMapper

/** One HTTP request as it travels to the executors (inside the input partitions). */
case class ServingRequest(id: Long, method: String, path: String, query: String,
                          headers: Map[String, String], body: Array[Byte])

/** One answer, from the pipeline (through the sink's commit or a low-latency writer) or from the server itself. */
case class ServingReply(status: Int, headers: Map[String, String], body: Array[Byte])

object ServingReply {
  def json(status: Int, text: String, extra: Map[String, String] = Map.empty): ServingReply =
    ServingReply(status, Map("Content-Type" -> "application/json") ++ extra, text.getBytes(UTF_8))

  /** `{"error": message}`, the body of every answer the server gives instead of the pipeline. */
  def error(status: Int, message: String, extra: Map[String, String] = Map.empty): ServingReply =
    json(status, ServingJson.write(Map("error" -> message)), extra)
}

/** JSON of the serving wire (status, offsets, error bodies) through Jackson, which Spark already ships. */
private[serving] object ServingJson {
  val mapper = new ObjectMapper()

  /** Scala maps (kept in their order), sequences and plain values as JSON. */
  def write(value: Any): String = mapper.writeValueAsString(toJava(value))

  private def toJava(value: Any): Any = value match {
    case m: scala.collection.Map[_, _] =>
      val out = new java.util.LinkedHashMap[String, Any]()
      m.foreach { case (k, v) => out.put(k.toString, toJava(v)) }
      out
    case s: Seq[_] => s.map(toJava).asJava
    case other => other
  }
}

/** Counters of one server: every request it received has one outcome, so
 * `accepted == replied + abandoned + rejected.values.sum + expired + pending`. `late`: pipeline replies that came
 * after their request was answered (504, or a replayed batch); `abandoned`: pipeline replies whose client had
 * closed its connection before the reply could be written. */
case class ServingStatus(name: String, url: String, accepted: Long, replied: Long, rejected: Map[Int, Long],
                         expired: Long, pending: Int, late: Long, abandoned: Long = 0L,
                         partitions: Seq[String] = Nil) {
  def toJson: String = ServingJson.write(
    scala.collection.immutable.ListMap[String, Any]("name" -> name, "url" -> url, "accepted" -> accepted,
      "replied" -> replied,
      "rejected" -> scala.collection.immutable.ListMap(
        rejected.toSeq.sortBy(_._1).map { case (k, v) => k.toString -> v }: _*),
      "expired" -> expired, "pending" -> pending, "late" -> late, "abandoned" -> abandoned) ++
      (if (partitions.isEmpty) Nil else Seq("partitions" -> partitions)))
}

object ServingStatus {
  def fromJson(text: String): ServingStatus = {
    val n = ServingJson.mapper.readTree(text)
    ServingStatus(n.get("name").asText, n.get("url").asText, n.get("accepted").asLong, n.get("replied").asLong,
      n.get("rejected").properties().asScala.map(e => e.getKey.toInt -> e.getValue.asLong).toMap,
      n.get("expired").asLong, n.get("pending").asInt, n.get("late").asLong,
      Option(n.get("abandoned")).map(_.asLong).getOrElse(0L))
  }

  /** The counters of a low-latency server: its own (the requests it refused itself) plus the sums over its
   * partitions' servers, which are listed. */
  def sum(name: String, url: String, parts: Seq[ServingStatus], urls: Seq[String]): ServingStatus =
    ServingStatus(name, url, parts.map(_.accepted).sum, parts.map(_.replied).sum,
      parts.flatMap(_.rejected).groupMapReduce(_._1)(_._2)(_ + _), parts.map(_.expired).sum, parts.map(_.pending).sum,
      parts.map(_.late).sum, parts.map(_.abandoned).sum, urls)
}
