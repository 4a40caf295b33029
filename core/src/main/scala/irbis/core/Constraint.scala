package irbis.core

import org.json4s._

/**
 * A Param validator that is also data. The manifest records each one (its rule and what it expects, as the
 * error message says it), so that the Python and R wrappers refuse a bad value when it is set, by the same rule
 * and with the same message as the JVM ([[ParamsBridge.invalidValue]]). Any other validator is opaque to them:
 * they ask the JVM when the value is set. Build them with [[Validators]].
 */
sealed trait Constraint extends (Any => Boolean) with Serializable {

  /** What a valid value is: "> 0", "one of CPU, CUDA". */
  def expected: String

  /** The manifest's form; None for the constraints that the wrappers' kinds already enforce. */
  def toJson: Option[JObject]
}

object Constraint {
  private def exact(v: Any): Option[java.math.BigDecimal] = v match {
    case i: Int => Some(java.math.BigDecimal.valueOf(i.toLong))
    case l: Long => Some(java.math.BigDecimal.valueOf(l))
    case f: Float if !f.isNaN && !f.isInfinite => Some(new java.math.BigDecimal(f.toDouble))
    case d: Double if !d.isNaN && !d.isInfinite => Some(new java.math.BigDecimal(d))
    case _ => None
  }

  private def shown(d: Double): String =
    if (d.isWhole) java.math.BigDecimal.valueOf(d).toBigInteger.toString else d.toString
  private def json(d: Double): JValue = if (d.isWhole) JInt(BigInt(shown(d))) else JDouble(d)

  /** Numbers between optional bounds, compared exactly (a long is not rounded to a double first); NaN is out. */
  final case class Range(min: Option[Double], minInclusive: Boolean, max: Option[Double], maxInclusive: Boolean)
    extends Constraint {
    require(min.forall(!_.isNaN) && max.forall(!_.isNaN) && (min.isDefined || max.isDefined))

    def apply(v: Any): Boolean = v match {
      case d: Double if d.isInfinite => if (d > 0) max.isEmpty else min.isEmpty
      case f: Float if f.isInfinite => if (f > 0) max.isEmpty else min.isEmpty
      case _ => exact(v).exists { x =>
          min.forall(m => { val c = x.compareTo(new java.math.BigDecimal(m)); if (minInclusive) c >= 0 else c > 0 }) &&
          max.forall(m => { val c = x.compareTo(new java.math.BigDecimal(m)); if (maxInclusive) c <= 0 else c < 0 })
        }
    }

    def expected: String = Seq(
      min.map(m => s"${if (minInclusive) ">=" else ">"} ${shown(m)}"),
      max.map(m => s"${if (maxInclusive) "<=" else "<"} ${shown(m)}")).flatten.mkString(" and ")

    def toJson: Option[JObject] = Some(JObject(List("rule" -> JString("range")) ++
        min.toList.flatMap(m => List("min" -> json(m), "minInclusive" -> JBool(minInclusive))) ++
        max.toList.flatMap(m => List("max" -> json(m), "maxInclusive" -> JBool(maxInclusive))) ++
        List("expected" -> JString(expected))))
  }

  final case class OneOf(options: Seq[String]) extends Constraint {
    def apply(v: Any): Boolean = v match {
      case s: String => options.contains(s)
      case _ => false
    }
    def expected: String = s"one of ${options.mkString(", ")}"
    def toJson: Option[JObject] = Some(JObject("rule" -> JString("oneOf"),
        "options" -> JArray(options.map(JString(_)).toList), "expected" -> JString(expected)))
  }

  /** A string, array or map with at least one character or element. */
  case object NonEmpty extends Constraint {
    def apply(v: Any): Boolean = v match {
      case s: String => s.nonEmpty
      case a: Array[_] => a.nonEmpty
      case m: Map[_, _] => m.nonEmpty
      case _ => false
    }
    def expected: String = "not empty"
    def toJson: Option[JObject] = Some(JObject("rule" -> JString("nonEmpty"), "expected" -> JString(expected)))
  }

  /** Every element of an array, every value of a map. */
  final case class Each(of: Constraint) extends Constraint {
    def apply(v: Any): Boolean = v match {
      case a: Array[_] => a.forall(of)
      case m: Map[_, _] => m.values.forall(of)
      case _ => false
    }
    def expected: String = s"each value ${of.expected}"
    def toJson: Option[JObject] = of.toJson.map(inner =>
      JObject("rule" -> JString("each"), "of" -> inner, "expected" -> JString(expected)))
  }

  /** Every value of the Param's kind. */
  case object Anything extends Constraint {
    def apply(v: Any): Boolean = true
    def expected: String = "any value"
    def toJson: Option[JObject] = None
  }

  /** Any value but null: the wrappers never send null (they clear the Param instead). */
  case object NotNull extends Constraint {
    def apply(v: Any): Boolean = v != null
    def expected: String = "a value (not null)"
    def toJson: Option[JObject] = None
  }
}

/** The validators of Irbis' Params, in the names of Spark's `ParamValidators`, as [[Constraint]]s. */
object Validators {
  import Constraint._

  def gt(bound: Double): Constraint = Range(Some(bound), minInclusive = false, None, maxInclusive = false)
  def gtEq(bound: Double): Constraint = Range(Some(bound), minInclusive = true, None, maxInclusive = false)
  def lt(bound: Double): Constraint = Range(None, minInclusive = false, Some(bound), maxInclusive = false)
  def ltEq(bound: Double): Constraint = Range(None, minInclusive = false, Some(bound), maxInclusive = true)
  def inRange(lower: Double, upper: Double, lowerInclusive: Boolean = true, upperInclusive: Boolean = true)
    : Constraint =
    Range(Some(lower), lowerInclusive, Some(upper), upperInclusive)
  def oneOf(options: Seq[String]): Constraint = OneOf(options)
  val nonEmpty: Constraint = NonEmpty
  def each(of: Constraint): Constraint = Each(of)
  val notNull: Constraint = NotNull
  val any: Constraint = Anything
}
