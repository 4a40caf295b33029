package irbis.stages

import irbis.core._
import irbis.stages.Resampling.Label
import org.apache.spark.HashPartitioner
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{IntParam, LongParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.types.StructType

class StratifiedRepartition(override val uid: String) extends Transformer with IrbisStage with HasInputCol {
  def this() = this(Identifiable.randomUID("StratifiedRepartition"))

  override def stageDoc: String =
    "Repartitions the rows so that every partition holds a balanced share of every label (of `inputCol`): " +
      "the rows of each label are dealt round-robin over the partitions, so partition sizes per label differ " +
      "by at most one (plus one per duplicate layer when resampling), e.g. so that every partition of a " +
      "model trained per partition sees every class. `mode` sets how many rows of each label there are " +
      "afterwards: original keeps the rows as they are; equal resamples every label to the size of the " +
      "largest (rows of smaller labels repeat: each row floor(target / count) times, plus once more for a " +
      "seeded pseudo-random subset of the remainder); mixed aims halfway, at (count + largest count) / 2. " +
      "Null labels form a class of their own."

  setDefault(inputCol -> "label")

  final val mode = new EnumParam(this, "mode", "How many rows each label has afterwards (see the stage's description).",
    Seq("original", "equal", "mixed"))
  setDefault(mode -> "mixed")
  def getMode: String = $(mode)
  def setMode(value: String): this.type = set(mode, value)

  final val numPartitions = new IntParam(this, "numPartitions",
    "The number of output partitions (>= 0); 0 keeps the input's number of partitions.", Validators.gtEq(0))
  setDefault(numPartitions -> 0)
  def getNumPartitions: Int = $(numPartitions)
  def setNumPartitions(value: Int): this.type = set(numPartitions, value)

  final val seed = new LongParam(this, "seed", "The seed that picks which rows repeat once more when resampling.")
  setDefault(seed -> 0L)
  def getSeed: Long = $(seed)
  def setSeed(value: Long): this.type = set(seed, value)

  override def transformSchema(schema: StructType): StructType = {
    Columns.requireType(schema, uid, getInputCol, LabelTypes.expected)(LabelTypes.ok)
    schema
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val df = dataset.toDF()
    val labelIndex = df.schema.fieldIndex(getInputCol)
    val rdd = df.rdd
    val n = if (getNumPartitions > 0) getNumPartitions else math.max(1, rdd.getNumPartitions)
    // Rows of one label are numbered 0..count-1 across partitions: per-partition counts give each partition's offset.
    // Labels are keyed by their text: one column has one type, and NaN equals NaN that way.
    val key: Row => Label = row => Option(row.get(labelIndex)).map(_.toString)
    val perPartition: Array[Map[Label, Long]] = rdd.mapPartitions { rows =>
      Iterator(rows.foldLeft(Map.empty[Label, Long])((m, r) => m.updated(key(r), m.getOrElse(key(r), 0L) + 1)))
    }.collect()
    val counts: Map[Label, Long] = perPartition.flatten.groupMapReduce(_._1)(_._2)(_ + _)
    val offsets: Array[Map[Label, Long]] = perPartition.indices.map { p =>
      counts.keys.map(k => k -> perPartition.take(p).map(_.getOrElse(k, 0L)).sum).toMap
    }.toArray
    if (counts.isEmpty) return df
    val largest = counts.values.max
    val targets: Map[Label, Long] = counts.map { case (k, c) =>
      k ->
        (getMode match {
          case "original" => c
          case "equal" => largest
          case _ => (c + largest) / 2
        })
    }
    // Distinct labels get distinct starting partitions, so remainders do not all land on partition 0.
    val shift: Map[Label, Int] = counts.keys.toSeq.sortBy(_.getOrElse("")).zipWithIndex.toMap
    val permutations: Map[Label, Resampling.Affine] = counts.map { case (k, c) => k -> Resampling.Affine(c, getSeed) }
    val keyed = rdd.mapPartitionsWithIndex { (p, rows) =>
      val next = scala.collection.mutable.HashMap.empty[Label, Long] ++ offsets(p)
      rows.flatMap { row =>
        val label = key(row)
        val j = next(label)
        next(label) = j + 1
        val (c, t) = (counts(label), targets(label))
        val layers = t / c
        // Which rows of a label repeat once more: a seeded permutation of 0..c-1 puts the first t % c of them.
        val extra = if (permutations(label)(j) < t % c) 1 else 0
        (0L until layers + extra).iterator.map { k =>
          (((k * c + j + shift(label)) % n).toInt, row)
        }
      }
    }
    val spread = keyed.partitionBy(new HashPartitioner(n)).values
    df.sparkSession.createDataFrame(spread, df.schema)
  }

  override def copy(extra: ParamMap): StratifiedRepartition = defaultCopy(extra)
}

object StratifiedRepartition extends IrbisReadable[StratifiedRepartition]

private[stages] object Resampling {
  type Label = Option[String]

  /** j -> (a * j + b) mod c with a coprime to c: a permutation of 0..c-1 chosen by the seed. */
  final case class Affine(a: Long, b: Long, c: Long) {
    def apply(j: Long): Long =
      if (c < (1L << 31)) (a * j + b) % c else ((BigInt(a) * j + b) % c).toLong
  }

  object Affine {
    def apply(c: Long, seed: Long): Affine =
      if (c <= 1) new Affine(0, 0, 1)
      else {
        val rnd = new scala.util.Random(seed ^ c)
        var a = 1L + (rnd.nextLong() & Long.MaxValue) % (c - 1)
        while (BigInt(a).gcd(BigInt(c)) != 1) a = if (a + 1 >= c) 1L else a + 1
        new Affine(a, (rnd.nextLong() & Long.MaxValue) % c, c)
      }
  }
}
