package irbis.train

import irbis.core.{ColumnRef, Columns}
import org.apache.spark.ml.linalg.{SQLDataTypes, Vector}
import org.apache.spark.sql.{Column, DataFrame, Row}
import org.apache.spark.sql.functions._
import org.apache.spark.sql.types._

/**
 * The columns of scored data that the metric stages read, resolved against one schema. Classes follow the
 * issue-7 contract: level names come from NominalAttribute metadata on the scored-labels or `prediction`
 * column when present; without metadata a numeric label IS the class index (plain Spark ML output) and a
 * string label's classes are the sorted distinct values of label and prediction.
 */
private[train] case class Scored(stage: String, label: String, predicted: String, scores: Option[String],
                                 metadataLevels: Option[Array[String]])

private[train] object Scored {
  val DefaultLabel = "label"
  val NotScored = "evaluates scored data: transform the data with the fitted model first (model.transform(df)) " +
    "and pass its output"

  /** NominalAttribute values, read from the metadata itself: Spark's reader refuses non-numeric columns. */
  def levelsOf(f: StructField): Option[Array[String]] =
    if (!f.metadata.contains("ml_attr")) None
    else {
      val attr = f.metadata.getMetadata("ml_attr")
      val nominal = attr.contains("type") && attr.getString("type") == "nominal"
      if (nominal && attr.contains("vals")) Some(attr.getStringArray("vals")) else None
    }

  /** The scored-labels column: the one named, else `scored_labels` when present, else `prediction`. */
  def predictedCol(schema: StructType, stage: String, named: Option[String]): String = named.getOrElse {
    if (schema.fieldNames.contains("scored_labels")) "scored_labels"
    else if (schema.fieldNames.contains("prediction")) "prediction"
    else throw new IllegalArgumentException(
      s"$stage: found neither 'scored_labels' nor 'prediction' among the columns " +
        s"(${schema.fieldNames.mkString(", ")}); $stage $NotScored, or set scoredLabelsCol")
  }

  /** The metadata key under which a trained model records, on its prediction columns, its label and scores. */
  val RecordKey = "irbis_scored"

  /** `base` plus the record of the label column and the scores column (if any) of a trained model's output. */
  def record(base: Metadata, label: String, scores: Option[String]): Metadata = {
    val r = new MetadataBuilder().putString("labelCol", label)
    scores.foreach(r.putString("scoresCol", _))
    new MetadataBuilder().withMetadata(base).putMetadata(RecordKey, r.build()).build()
  }

  /** The scores column of a trained model's output schema: `probability` when present, else `rawPrediction`. */
  def scoresOf(schema: StructType): Option[String] =
    Seq("probability", "rawPrediction").find(c =>
      schema.fieldNames.contains(c) && schema(c).dataType == SQLDataTypes.VectorType)

  /** The (label, scores) a trained model recorded on the scored-labels or `prediction` column, if any. */
  private def recorded(schema: StructType, named: Option[String]): Option[(String, Option[String])] =
    (named.toSeq ++ Seq("scored_labels", "prediction")).filter(schema.fieldNames.contains).map(schema(_).metadata)
      .find(_.contains(RecordKey)).map(_.getMetadata(RecordKey)).map(r =>
        (r.getString("labelCol"), if (r.contains("scoresCol")) Some(r.getString("scoresCol")) else None))

  /**
   * The columns of scored data. The label and scores columns are the ones set (`labelSet`, `scoresNamed`);
   * unset, the ones the trained model recorded in the scored data's metadata (TrainClassifier's and
   * TrainRegressor's models do), else `label` and the first of `probability`, `rawPrediction`.
   */
  def resolve(schema: StructType, stage: String, labelSet: Option[String], named: Option[String],
              scoresNamed: Option[String]): Scored = {
    val record = recorded(schema, named)
    val label = labelSet.orElse(record.map(_._1)).getOrElse(DefaultLabel)
    Columns.require(schema, stage, label)
    val predicted = predictedCol(schema, stage, named)
    if (!schema.fieldNames.contains(predicted)) throw new IllegalArgumentException(
      s"$stage: the scored-labels column '$predicted' does not exist (columns: ${schema.fieldNames.mkString(", ")}); " +
        s"$stage $NotScored")
    val scores = scoresNamed match {
      case Some(c) =>
        Columns.requireType(schema, stage, c, "a vector of class scores or a numeric score")(t =>
          t == SQLDataTypes.VectorType || Columns.isNumeric(t))
        Some(c)
      case None => record.flatMap(_._2).filter(schema.fieldNames.contains).orElse(scoresOf(schema))
    }
    val levels = levelsOf(schema(predicted)).orElse(
      if (schema.fieldNames.contains("prediction")) levelsOf(schema("prediction")) else None)
    Scored(stage, label, predicted, scores, levels)
  }
}

/** The class levels and each row's (label index, predicted index), as Spark columns. */
private[train] case class Classes(names: Array[String], labelIndex: Column, predictedIndex: Column,
                                  fromMetadata: Boolean) {
  def size: Int = names.length
}

private[train] object Classes {
  private def isIntegral(d: Double): Boolean = !d.isNaN && !d.isInfinite && d == math.rint(d)

  def numberName(d: Double): String = if (isIntegral(d) && math.abs(d) < 1e15) d.toLong.toString else d.toString

  def resolve(df: DataFrame, s: Scored): Classes = {
    val schema = df.schema
    val labelType = schema(s.label).dataType
    val predType = schema(s.predicted).dataType
    val labelCol = ColumnRef(s.label)
    val predCol = ColumnRef(s.predicted)
    val numericLabel = Columns.isNumeric(labelType)
    if (!numericLabel && labelType != StringType && labelType != BooleanType) throw new IllegalArgumentException(
      s"${s.stage}: label column '${s.label}' has type ${labelType.simpleString}; expected numbers, strings or booleans")
    // `prediction` holds class indices; `scored_labels` (or any column of the label's type) holds label values.
    val predIsIndex = s.predicted == "prediction" || (numericLabel != Columns.isNumeric(predType))
    s.metadataLevels match {
      case Some(levels) =>
        val lookup: Column => Column = if (numericLabel) {
          val asNumbers = levels.map(v =>
            scala.util.Try(v.toDouble).getOrElse(throw new IllegalArgumentException(
                s"${s.stage}: label column '${s.label}' is numeric but the model's class levels are not numbers: " +
                  levels.mkString(", "))))
          c => try_element_at(typedLit(asNumbers.zipWithIndex.toMap), c.cast(DoubleType))
        } else c => try_element_at(typedLit(levels.zipWithIndex.toMap), c.cast(StringType))
        val pred = if (predIsIndex) predCol.cast(DoubleType) else lookup(predCol).cast(DoubleType)
        Classes(levels, lookup(labelCol).cast(DoubleType), pred, fromMetadata = true)
      case None if numericLabel =>
        if (!Columns.isNumeric(predType)) throw new IllegalArgumentException(
          s"${s.stage}: label column '${s.label}' is numeric but '${s.predicted}' has type ${predType.simpleString}; " +
            "without class metadata on it a numeric label is the class index and the prediction must be one too")
        val observed = df.select(labelCol.cast(DoubleType).as("v")).union(df.select(predCol.cast(DoubleType).as("v")))
          .where(col("v").isNotNull).distinct().collect().map(_.getDouble(0)).sorted
        observed.find(v => !isIntegral(v) || v < 0).foreach { v =>
          throw new IllegalArgumentException(
            s"${s.stage}: without class metadata a numeric label is a class index (0, 1, ...), but columns " +
              s"'${s.label}'/'${s.predicted}' hold $v; for regression set evaluationMetric to 'regression'")
        }
        val index = typedLit(observed.zipWithIndex.toMap)
        Classes(observed.map(numberName), try_element_at(index, labelCol.cast(DoubleType)).cast(DoubleType),
          try_element_at(index, predCol.cast(DoubleType)).cast(DoubleType), fromMetadata = false)
      case None =>
        val observed = df.select(labelCol.cast(StringType).as("v")).union(df.select(predCol.cast(StringType).as("v")))
          .where(col("v").isNotNull).distinct().collect().map(_.getString(0)).sorted
        val index = typedLit(observed.zipWithIndex.toMap)
        Classes(observed, try_element_at(index, labelCol.cast(StringType)).cast(DoubleType),
          try_element_at(index, predCol.cast(StringType)).cast(DoubleType), fromMetadata = false)
    }
  }

  /** Fails, naming the column and the value, when a label or prediction has no class or is null. */
  def check(df: DataFrame, s: Scored, c: Classes): Unit = {
    def firstBad(raw: String, idx: Column, what: String): Unit = {
      val nulls = df.where(ColumnRef(raw).isNull).limit(1).count()
      if (nulls > 0) throw new IllegalArgumentException(
        s"${s.stage}: column '$raw' has null values; drop or fill those rows before computing statistics")
      df.where(idx.isNull || idx < 0 || idx >= c.size || idx =!= floor(idx)).select(ColumnRef(raw).cast(StringType))
        .limit(1).collect().headOption.foreach { r =>
          throw new IllegalArgumentException(
            s"${s.stage}: $what '${r.getString(0)}' in column '$raw' is not one of the model's ${c.size} classes " +
              s"(${c.names.mkString(", ")}). The model was trained without this class: retrain it on data that " +
              "includes it, or drop these rows before evaluating")
        }
    }
    firstBad(s.label, c.labelIndex, "label")
    firstBad(s.predicted, c.predictedIndex, "predicted value")
  }

  /** The score of class `index` (a vector element) or the numeric score itself. */
  def scoreOf(schema: StructType, scores: String, index: Int): Column =
    if (schema(scores).dataType == SQLDataTypes.VectorType) {
      val at = udf((v: Vector) => if (v == null || index >= v.size) Double.NaN else v(index))
      at(ColumnRef(scores))
    } else ColumnRef(scores).cast(DoubleType)

  /** The vector index of class `i`: with metadata level i; without it the class value is the index. */
  def vectorIndex(c: Classes, i: Int): Int = if (c.fromMetadata) i else c.names(i).toDouble.toInt
}

/** Metrics computed from the confusion matrix (rows: true class, columns: predicted class). */
private[train] case class ClassificationMetrics(names: Array[String], confusion: Array[Array[Long]],
                                                auc: Option[Double]) {
  private val k = names.length
  private def d(n: Long) = n.toDouble
  val support: Array[Long] = confusion.map(_.sum)
  val predictedCount: Array[Long] = Array.tabulate(k)(j => confusion.map(_(j)).sum)
  val total: Long = support.sum
  private val tp = Array.tabulate(k)(i => confusion(i)(i))
  // A class that is never predicted (precision) or never present (recall) scores 0: sklearn's zero_division=0.
  val precision: Array[Double] =
    Array.tabulate(k)(i => if (predictedCount(i) == 0) 0.0 else d(tp(i)) / d(predictedCount(i)))
  val recall: Array[Double] = Array.tabulate(k)(i => if (support(i) == 0) 0.0 else d(tp(i)) / d(support(i)))
  val f1: Array[Double] = Array.tabulate(k) { i =>
    val denominator = 2 * tp(i) + (predictedCount(i) - tp(i)) + (support(i) - tp(i))
    if (denominator == 0) 0.0 else d(2 * tp(i)) / d(denominator)
  }
  val accuracy: Double = if (total == 0) Double.NaN else d(tp.sum) / d(total)
  private def macroAvg(a: Array[Double]) = if (k == 0) Double.NaN else a.sum / k
  private def weighted(a: Array[Double]) =
    if (total == 0) Double.NaN else a.indices.map(i => a(i) * d(support(i))).sum / d(total)

  def scalars: Seq[(String, Double)] = Seq(
    "accuracy" -> accuracy,
    "precision_macro" -> macroAvg(precision), "recall_macro" -> macroAvg(recall), "f1_macro" -> macroAvg(f1),
    "precision_weighted" -> weighted(precision), "recall_weighted" -> weighted(recall), "f1_weighted" -> weighted(f1),
    "AUC" -> auc.getOrElse(Double.NaN))
}

private[train] object ClassificationMetrics {
  val ScalarNames: Seq[String] = Seq("accuracy", "precision_macro", "recall_macro", "f1_macro",
    "precision_weighted", "recall_weighted", "f1_weighted", "AUC")

  def compute(df: DataFrame, s: Scored, c: Classes): ClassificationMetrics = {
    Classes.check(df, s, c)
    val counts = df.groupBy(c.labelIndex.cast(IntegerType).as("l"), c.predictedIndex.cast(IntegerType).as("p"))
      .count().collect()
    val confusion = Array.fill(c.size, c.size)(0L)
    counts.foreach(r => confusion(r.getInt(0))(r.getInt(1)) = r.getLong(2))
    val auc = if (c.size == 2) s.scores.map { sc =>
      val positive = c.labelIndex === 1.0
      RocAuc.exact(df.select(Classes.scoreOf(df.schema, sc, Classes.vectorIndex(c, 1)).as("score"),
          positive.as("positive")), s.stage, sc)
    }
    else None
    ClassificationMetrics(c.names, confusion, auc)
  }
}

/**
 * ROC AUC as the exact trapezoid over all distinct thresholds, which equals the Mann-Whitney statistic
 * (ties count one half): with scores sorted descending, a group of equal scores holding p positives and n
 * negatives after P0 positives with higher scores adds n * (2 * P0 + p) to 2U. The sum is an exact integer
 * (computed per partition, then combined), and AUC = 2U / (2 * P * N) is divided once.
 */
private[train] object RocAuc {
  def exact(scored: DataFrame, stage: String, scoresCol: String): Double = {
    val groups = scored.groupBy("score").agg(
      sum(when(col("positive"), 1L).otherwise(0L)).as("p"), sum(when(col("positive"), 0L).otherwise(1L)).as("n"))
    val nanCount = groups.where(isnan(col("score")) || col("score").isNull).limit(1).count()
    if (nanCount > 0) throw new IllegalArgumentException(
      s"$stage: column '$scoresCol' has missing or NaN scores (or too few classes in its vectors) for some rows")
    val sorted = groups.orderBy(col("score").desc).select("p", "n").rdd.map(r => (r.getLong(0), r.getLong(1)))
    val perPartition = sorted.mapPartitions(it => Iterator(it.foldLeft((0L, 0L))((a, b) => (a._1 + b._1, a._2 + b._2))))
      .collect()
    val offsets = perPartition.scanLeft(0L)(_ + _._1)
    val twiceU = sorted.mapPartitionsWithIndex { (i, it) =>
      var before = offsets(i)
      var acc = BigInt(0)
      it.foreach { case (p, n) => acc += BigInt(n) * (2 * before + p); before += p }
      Iterator(acc)
    }.collect().sum
    val positives = perPartition.map(_._1).sum
    val negatives = perPartition.map(_._2).sum
    if (positives == 0 || negatives == 0) Double.NaN
    else {
      val denominator = BigInt(2) * positives * negatives
      if (twiceU.bitLength <= 53 && denominator.bitLength <= 53) twiceU.toDouble / denominator.toDouble
      else (BigDecimal(twiceU) / BigDecimal(denominator)).toDouble
    }
  }

  /** ROC points (false positive rate, true positive rate) from the highest threshold down, at most ~maxPoints. */
  def curve(scored: DataFrame, maxPoints: Int): Array[Array[Double]] = {
    val groups = scored.groupBy("score").agg(
      sum(when(col("positive"), 1L).otherwise(0L)).as("p"), sum(when(col("positive"), 0L).otherwise(1L)).as("n"))
      .orderBy(col("score").desc).select("p", "n").collect().map(r => (r.getLong(0), r.getLong(1)))
    val (pTotal, nTotal) = (groups.map(_._1).sum.toDouble, groups.map(_._2).sum.toDouble)
    val cumulative = groups.scanLeft((0L, 0L))((a, b) => (a._1 + b._1, a._2 + b._2))
    val step = math.max(1, cumulative.length / math.max(1, maxPoints))
    val kept = cumulative.indices.filter(i => i % step == 0 || i == cumulative.length - 1).map(cumulative)
    kept.map { case (tp, fp) =>
      Array(if (nTotal == 0) Double.NaN else fp / nTotal, if (pTotal == 0) Double.NaN else tp / pTotal)
    }
      .toArray
  }
}

/** MSE, RMSE, R2 (sklearn's convention for a constant label: 1 if predictions are perfect, else 0) and MAE. */
private[train] object RegressionMetrics {
  val ScalarNames: Seq[String] = Seq("mse", "rmse", "r2", "mae")

  def compute(df: DataFrame, stage: String, label: String, prediction: String): Seq[(String, Double)] = {
    Columns.requireType(df.schema, stage, label, "a numeric label for regression")(Columns.isNumeric)
    Columns.requireType(df.schema, stage, prediction, "a numeric prediction for regression")(Columns.isNumeric)
    val y = ColumnRef(label).cast(DoubleType)
    val p = ColumnRef(prediction).cast(DoubleType)
    val nulls = df.where(y.isNull || p.isNull || isnan(y) || isnan(p)).limit(1).count()
    if (nulls > 0) throw new IllegalArgumentException(
      s"$stage: columns '$label'/'$prediction' have null or NaN values; drop or fill those rows first")
    val r: Row = df.agg(count(lit(1)), sum(pow(y - p, 2)), sum(abs(y - p)), var_pop(y)).head()
    val n = r.getLong(0).toDouble
    if (n == 0) return ScalarNames.map(_ -> Double.NaN)
    val sse = r.getDouble(1)
    val mse = sse / n
    val ssTot = r.getDouble(3) * n
    val r2 = if (ssTot == 0) { if (sse == 0) 1.0 else 0.0 }
    else 1 - sse / ssTot
    Seq("mse" -> mse, "rmse" -> math.sqrt(mse), "r2" -> r2, "mae" -> r.getDouble(2) / n)
  }
}
