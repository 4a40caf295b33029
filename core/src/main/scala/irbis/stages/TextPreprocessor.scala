package irbis.stages

import java.util.Locale

import scala.collection.mutable

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.functions.udf
import org.apache.spark.sql.types.{StringType, StructType}

class TextPreprocessor(override val uid: String) extends Transformer with IrbisStage with HasInputCol
  with HasOutputCol {
  def this() = this(Identifiable.randomUID("TextPreprocessor"))

  override def stageDoc: String =
    "Replaces substrings of a string column by the values of `map`. The text (and every key) is first " +
      "normalized by `normFunc`; it is then scanned left to right, and at each position the longest key that " +
      "starts there is replaced by its value, scanning on after it (replacements are not rescanned). Where no " +
      "key starts, the character is kept. Nulls stay null."

  final val map = new StringStringMapParam(this, "map",
    "Substrings (non-empty keys) and their replacements.", (m: Map[String, String]) => !m.keys.exists(_.isEmpty))
  def getMap: Map[String, String] = $(map)
  def setMap(value: Map[String, String]): this.type = set(map, value)

  final val normFunc = new EnumParam(this, "normFunc",
    "How the text and the keys are normalized before matching: unchanged, or lower-cased (locale-independent).",
    Seq("identity", "lowerCase"))
  setDefault(normFunc -> "identity")
  def getNormFunc: String = $(normFunc)
  def setNormFunc(value: String): this.type = set(normFunc, value)

  override def transformSchema(schema: StructType): StructType =
    Columns.stringToString(schema, uid, getInputCol, getOutputCol)

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val norm: String => String =
      if (getNormFunc == "lowerCase") (s: String) => s.toLowerCase(Locale.ROOT) else identity
    val trie = Trie(getMap.toSeq.sortBy(_._1).map { case (k, v) => norm(k) -> v })
    val replace = udf((s: String) => if (s == null) null else trie.replaceAll(norm(s)))
    dataset.toDF().withColumn(getOutputCol, replace(ColumnRef(getInputCol)))
  }

  override def copy(extra: ParamMap): TextPreprocessor = defaultCopy(extra)
}

object TextPreprocessor extends IrbisReadable[TextPreprocessor]

/** A character trie of keys with their replacements, for leftmost-longest replacement. */
private[stages] final class Trie extends Serializable {
  private val children = mutable.HashMap.empty[Char, Trie]
  private var value: Option[String] = None

  def replaceAll(text: String): String = {
    val out = new java.lang.StringBuilder(text.length)
    var i = 0
    while (i < text.length) {
      // Walk as far as the text matches a path; remember the last node that ends a key.
      var node = this
      var j = i
      var best: Option[String] = None
      var bestEnd = i
      while (j < text.length && node != null) {
        node = node.children.getOrElse(text.charAt(j), null)
        j += 1
        if (node != null && node.value.isDefined) { best = node.value; bestEnd = j }
      }
      best match {
        case Some(v) => out.append(v); i = bestEnd
        case None => out.append(text.charAt(i)); i += 1
      }
    }
    out.toString
  }
}

private[stages] object Trie {

  /** A key given twice keeps its last replacement (TextPreprocessor passes keys in order of the original keys). */
  def apply(entries: Seq[(String, String)]): Trie = {
    val root = new Trie
    entries.foreach { case (key, v) =>
      val node = key.foldLeft(root)((n, c) => n.children.getOrElseUpdate(c, new Trie))
      node.value = Some(v)
    }
    root
  }
}
