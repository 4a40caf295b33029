package irbis.lightgbm

import scala.collection.mutable.ArrayBuffer

import com.microsoft.ml.lightgbm.{lightgbmlib => lib, lightgbmlibConstants => C, SWIGTYPE_p_void}
import org.apache.spark.ml.linalg.{SQLDataTypes, Vector}
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.types.{ArrayType, DataType, DoubleType, UserDefinedType}
import org.apache.spark.unsafe.types.UTF8String

/** What kind of learning a fit does, which decides how labels are checked. */
sealed trait LearningTask {

  /** Raw scores per row (and initial scores a row gives): one per class for multiclass, else one. */
  def scoresPerRow: Int = this match {
    case Classification(n) if n > 2 => n
    case _ => 1
  }
}
final case class Classification(numClasses: Int) extends LearningTask
case object Regression extends LearningTask
case object Ranking extends LearningTask

/**
 * The columns a worker reads, by position in its rows: features, label, then the optional ones (-1 when absent),
 * with the column names for messages.
 */
final case class TrainColumns(stage: String, names: Map[String, String], weight: Int, initScore: Int, group: Int,
                              initScoreType: DataType = DoubleType, groupType: DataType = DoubleType) {
  def name(role: String): String = names(role)
}

/** A malformed row: the fit fails with this message, without retrying the barrier stage. */
final class BadRowException(message: String) extends IllegalArgumentException(message)

/**
 * One worker's rows in LightGBM's layouts, read a row at a time into primitive chunks (never the partition's rows
 * as objects): dense row-major values, or CSR when the first row is sparse (or as matrixType says); labels, weights, initial scores and
 * group sizes beside them. Every value is checked as it is read; a bad one names its column and row.
 */
final class PartitionData(columns: TrainColumns, task: LearningTask, partition: Int, matrixType: String) {
  private val dense = new Chunks[Double]()
  private val csrIndptr = new Chunks[Int]()
  private val csrIndices = new Chunks[Int]()
  private val csrValues = new Chunks[Double]()
  private val labels = new Chunks[Double]()
  private val weights = new Chunks[Double]()
  private val initScores = new Chunks[Double]()
  private val groupSizes = ArrayBuffer[Int]()
  private var lastGroup: Any = null
  private val seenGroups = new java.util.HashSet[Any]()
  private var sparse = false
  var numFeatures: Int = -1
  var rows: Long = 0

  private def where(k: Long) = s"row $k (of partition $partition)"
  private def bad(role: String, k: Long, what: String) = new BadRowException(
    s"${columns.stage}: ${role}Col '${columns.name(role)}' at ${where(k)}: $what")

  /** Adds one row, read straight from Catalyst's form (no Row or Vector object per row). */
  def add(row: InternalRow): Unit = {
    val k = rows
    if (row.isNullAt(0)) throw bad("features", k, "null. Expected: a feature vector")
    // Spark's vector struct: (type: 0 sparse / 1 dense, size, indices, values).
    val v = row.getStruct(0, 4)
    val isDense = v.getByte(0) == 1
    val values = v.getArray(3)
    val size = if (isDense) values.numElements() else v.getInt(1)
    if (numFeatures < 0) {
      numFeatures = size
      sparse = matrixType match {
        case "dense" => false
        case "sparse" => true
        case _ => !isDense
      }
      if (sparse) csrIndptr.add(0)
    } else if (size != numFeatures) throw bad("features", k,
      s"a vector of size $size. Expected: size $numFeatures, as the partition's first row")
    val n = values.numElements()
    if (sparse) {
      val indices = if (isDense) null else v.getArray(2)
      var i = 0
      while (i < n) {
        val x = values.getDouble(i)
        if (x != 0) { csrIndices.add(if (isDense) i else indices.getInt(i)); csrValues.add(x) }
        i += 1
      }
      if (csrValues.size > Int.MaxValue) throw bad("features", k, "more than 2^31 non-zero values in one partition")
      csrIndptr.add(csrValues.size.toInt)
    } else if (isDense) {
      var i = 0
      while (i < n) { dense.add(values.getDouble(i)); i += 1 }
    } else {
      val row = new Array[Double](size)
      val indices = v.getArray(2)
      var i = 0
      while (i < n) { row(indices.getInt(i)) = values.getDouble(i); i += 1 }
      i = 0
      while (i < size) { dense.add(row(i)); i += 1 }
    }
    labels.add(label(row, k))
    if (columns.weight >= 0) {
      if (row.isNullAt(columns.weight)) throw bad("weight", k, "null. Expected: a non-negative number")
      val w = row.getDouble(columns.weight)
      if (!(w >= 0) || w.isInfinite) throw bad("weight", k, s"$w. Expected: a finite non-negative number")
      weights.add(w)
    }
    if (columns.initScore >= 0) addInitScore(row, k)
    if (columns.group >= 0) addGroup(row, k)
    rows += 1
  }

  private def label(row: InternalRow, k: Long): Double = {
    if (row.isNullAt(1)) throw bad("label", k, "null. Expected: a number")
    val y = row.getDouble(1)
    task match {
      case Classification(n) if !(y >= 0 && y < n && y.isWhole) =>
        throw bad("label", k, s"$y. Expected: a class index, an integer in [0, $n)")
      case Ranking if !(y >= 0 && y.isWhole) =>
        throw bad("label", k, s"$y. Expected: a relevance grade, a non-negative integer")
      case Regression if y.isNaN || y.isInfinite => throw bad("label", k, s"$y. Expected: a finite number")
      case _ => y
    }
  }

  private def addInitScore(row: InternalRow, k: Long): Unit = {
    if (row.isNullAt(columns.initScore)) throw bad("initScore", k, "null. Expected: a number, or one per class")
    // The fit casts a number to double and an array to array<double>; a vector stays Spark's vector struct.
    val scores: Array[Double] = columns.initScoreType match {
      case DoubleType => Array(row.getDouble(columns.initScore))
      case _: ArrayType => row.getArray(columns.initScore).toDoubleArray()
      case _ => PartitionData.vectorType.deserialize(row.getStruct(columns.initScore, 4)).toArray
    }
    val expected = task.scoresPerRow
    if (scores.length != expected) throw bad("initScore", k,
      s"${scores.length} values. Expected: $expected (${if (expected == 1) "one raw score" else "one per class"})")
    scores.foreach(initScores.add)
  }

  private def addGroup(row: InternalRow, k: Long): Unit = {
    if (row.isNullAt(columns.group)) throw bad("group", k, "null. Expected: a query id")
    val g = row.get(columns.group, columns.groupType) match {
      case s: UTF8String => s.clone() // the row's buffer is reused for the next row
      case other => other
    }
    if (rows > 0 && g == lastGroup) groupSizes(groupSizes.size - 1) += 1
    else {
      if (!seenGroups.add(g)) throw bad("group", k,
        s"query '$g' again after other queries. Expected: the rows " +
          "of each query together (sort within partitions by the group column, e.g. " +
          "df.repartition(n, groupCol).sortWithinPartitions(groupCol))")
      groupSizes += 1
      lastGroup = g
    }
  }

  /**
   * This worker's LightGBM dataset (with `reference`'s bins, for validation rows); freed by the caller. With the
   * network initialised, LightGBM finds the bins across all workers, so they agree.
   */
  def toDataset(parameters: String, reference: SWIGTYPE_p_void): SWIGTYPE_p_void = {
    require(rows > 0 && rows <= Int.MaxValue, s"${columns.stage}: $rows rows in partition $partition")
    val out = lib.voidpp_handle()
    try {
      if (sparse) {
        val indptr = LightGBMNative.ints(csrIndptr.iterator, csrIndptr.size)
        val indices = LightGBMNative.ints(csrIndices.iterator, csrIndices.size)
        val values = LightGBMNative.doubles(csrValues.iterator, csrValues.size)
        try LightGBMNative.check(lib.LGBM_DatasetCreateFromCSR(LightGBMNative.voidOf(indptr), C.C_API_DTYPE_INT32,
              indices, LightGBMNative.voidOf(values), C.C_API_DTYPE_FLOAT64, csrIndptr.size, csrValues.size,
              numFeatures,
              parameters, reference, out),
            s"${columns.stage}: building the LightGBM dataset (CSR) of partition $partition")
        finally { lib.delete_intArray(indptr); lib.delete_intArray(indices); lib.delete_doubleArray(values) }
      } else {
        val values = LightGBMNative.doubles(dense.iterator, dense.size)
        try LightGBMNative.check(lib.LGBM_DatasetCreateFromMat(LightGBMNative.voidOf(values), C.C_API_DTYPE_FLOAT64,
              rows.toInt, numFeatures, 1, parameters, reference, out),
            s"${columns.stage}: building the LightGBM dataset of partition $partition")
        finally lib.delete_doubleArray(values)
      }
      val dataset = lib.voidpp_value(out)
      try setFields(dataset)
      catch { case e: Throwable => lib.LGBM_DatasetFree(dataset); throw e }
      dataset
    } finally lib.delete_voidpp(out)
  }

  private def setFields(dataset: SWIGTYPE_p_void): Unit = {
    val n = rows.toInt
    def floats(name: String, c: Chunks[Double]): Unit = {
      val a = c.toArray.map(_.toFloat)
      val p = LightGBMNative.floats(a, n)
      try LightGBMNative.check(lib.LGBM_DatasetSetField(dataset, name, LightGBMNative.voidOf(p), n,
            C.C_API_DTYPE_FLOAT32),
          s"${columns.stage}: setting the dataset's $name")
      finally lib.delete_floatArray(p)
    }
    floats("label", labels)
    if (columns.weight >= 0) floats("weight", weights)
    if (columns.initScore >= 0) {
      // LightGBM wants multiclass initial scores class after class (all rows' class 0, then class 1, ...).
      val rowMajor = initScores.toArray
      val width = rowMajor.length / n
      val classMajor = Array.tabulate(rowMajor.length)(i => rowMajor((i % n) * width + i / n))
      val p = LightGBMNative.doubles(Iterator((classMajor, classMajor.length)), classMajor.length.toLong)
      try LightGBMNative.check(lib.LGBM_DatasetSetField(dataset, "init_score", LightGBMNative.voidOf(p),
            classMajor.length,
            C.C_API_DTYPE_FLOAT64), s"${columns.stage}: setting the dataset's init_score")
      finally lib.delete_doubleArray(p)
    }
    if (columns.group >= 0) {
      val sizes = groupSizes.toArray
      val p = LightGBMNative.ints(Iterator((sizes, sizes.length)), sizes.length.toLong)
      try LightGBMNative.check(lib.LGBM_DatasetSetField(dataset, "group", LightGBMNative.voidOf(p), sizes.length,
            C.C_API_DTYPE_INT32), s"${columns.stage}: setting the dataset's group")
      finally lib.delete_intArray(p)
    }
  }
}

object PartitionData {
  private[lightgbm] val vectorType = SQLDataTypes.VectorType.asInstanceOf[UserDefinedType[Vector]]
}
