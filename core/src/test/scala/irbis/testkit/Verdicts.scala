package irbis.testkit

import scala.collection.mutable
import scala.util.control.NonFatal

import irbis.core.ParamsBridge
import org.apache.spark.ml.param.Params
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

/**
 * The JVM's verdict on many values at once, for the R suite's validator test: one call instead of one per value
 * (each call from R is a round trip through sparklyr's socket).
 */
object Verdicts {

  /**
   * `cases` is a JSON array of `[stage class, param name, value as JSON]`; the answer is a JSON array with, for each
   * case, null when [[ParamsBridge.pair]] accepts the value and the message of its refusal otherwise. One stage of
   * each class is made (with its no-argument constructor) and asked every case of that class.
   */
  def of(cases: String): String = {
    val stages = mutable.Map.empty[String, Params]
    def stage(className: String): Params = stages.getOrElseUpdate(className,
      Class.forName(className, true, Thread.currentThread().getContextClassLoader)
        .getConstructor().newInstance().asInstanceOf[Params])
    val verdicts = parse(cases) match {
      case JArray(items) => items.map {
          case JArray(List(JString(className), JString(name), JString(json))) =>
            try { ParamsBridge.pair(stage(className), name, json); JNull }
            catch { case NonFatal(e) => JString(e.getMessage) }
          case other => throw new IllegalArgumentException(
              s"Verdicts.of: a case is [class, param, json], not ${compact(render(other))}")
        }
      case other =>
        throw new IllegalArgumentException(s"Verdicts.of: cases are a JSON array, not ${compact(render(other))}")
    }
    compact(render(JArray(verdicts)))
  }
}
