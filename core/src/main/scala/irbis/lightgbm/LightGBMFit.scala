package irbis.lightgbm

import org.apache.spark.ml.attribute.AttributeGroup
import org.apache.spark.ml.linalg.SQLDataTypes
import org.apache.spark.sql.{Column, DataFrame, Dataset}
import org.apache.spark.sql.functions.col
import org.apache.spark.sql.types._

/**
 * The part of fitting shared by the three LightGBM estimators: checking the columns, resolving categorical slots,
 * choosing the workers, setting aside validation rows, and handing LightGBM the parameters.
 */
private[lightgbm] object LightGBMFit {

  /** The column of modelString's raw scores during a fit. */
  private val InitScores = "__irbis_lightgbm_init_score"

  /** The model text, and the iteration early stopping kept (-1: none). */
  final case class Result(modelText: String, bestIteration: Int)

  def apply(stage: LightGBMParams, dataset: Dataset[_], featuresCol: String, labelCol: String, task: LearningTask,
            derived: Seq[(String, String)], groupCol: Option[String]): Result = {
    val uid = stage.uid
    stage.checkExecution()
    def optional(p: org.apache.spark.ml.param.Param[String]): Option[String] =
      Option(stage.getOrDefault(p)).filter(_.nonEmpty)
    // modelString: the rows start from that model's raw scores, as lightgbm.train's init_model does.
    val initModel = Option(stage.getModelString).filter(_.nonEmpty)
    val (df, initScore) = initModel match {
      case None => (dataset.toDF(), optional(stage.initScoreCol))
      case Some(text) =>
        if (optional(stage.initScoreCol).isDefined) throw new IllegalArgumentException(
          s"$uid: modelString and initScoreCol are both set. Expected: one of them (modelString's model gives the " +
            "initial scores)")
        val init = new LightGBMRegressionModel(s"$uid.modelString").setNativeModel(text)
        val classes = task.scoresPerRow
        if (init.getBoosterNumClasses != classes) throw new IllegalArgumentException(
          s"$uid.modelString: a model with ${init.getBoosterNumClasses} score(s) per row. Expected: $classes, as this fit learns")
        (init.rawScores(dataset.toDF(), featuresCol, LightGBMFit.InitScores), Some(LightGBMFit.InitScores))
    }
    val schema = df.schema
    def need(name: String, role: String, ok: DataType => Boolean, expected: String): Unit = {
      if (!schema.fieldNames.contains(name)) throw new IllegalArgumentException(
        s"$uid: ${role} '$name' is not a column. Expected: one of ${schema.fieldNames.mkString(", ")}")
      val t = schema(name).dataType
      if (!ok(t))
        throw new IllegalArgumentException(s"$uid: $role '$name' has type ${t.simpleString}. Expected: $expected")
    }
    need(featuresCol, "featuresCol", _ == SQLDataTypes.VectorType, "a vector column (e.g. from VectorAssembler)")
    need(labelCol, "labelCol", _.isInstanceOf[NumericType], "a numeric column")
    val weight = optional(stage.weightCol)
    val validation = optional(stage.validationIndicatorCol)
    weight.foreach(need(_, "weightCol", _.isInstanceOf[NumericType], "a numeric column"))
    initScore.foreach(need(_, "initScoreCol",
        t =>
          t.isInstanceOf[NumericType] || t == SQLDataTypes.VectorType ||
            t.isInstanceOf[ArrayType], "a number, or a vector or array of one score per class"))
    validation.foreach(need(_, "validationIndicatorCol", _ == BooleanType, "a boolean column"))
    groupCol.foreach(need(_, "groupCol", t => t.isInstanceOf[NumericType] || t == StringType,
        "a number or string query id"))
    if (stage.getEarlyStoppingRound > 0 && validation.isEmpty) throw new IllegalArgumentException(
      s"$uid.earlyStoppingRound: ${stage.getEarlyStoppingRound} needs validation rows. Expected: validationIndicatorCol set")

    val selected: Seq[(String, Column)] = Seq(
      "features" -> col(featuresCol), "label" -> col(labelCol).cast(DoubleType)) ++
      weight.map(w => "weight" -> col(w).cast(DoubleType)) ++ initScore.map(s =>
        "initScore" ->
          (schema(s).dataType match {
            case _: NumericType => col(s).cast(DoubleType)
            case _: ArrayType => col(s).cast(ArrayType(DoubleType))
            case _ => col(s)
          })) ++
      groupCol.map(g => "group" -> col(g))
    val names = Map("features" -> featuresCol, "label" -> labelCol) ++ weight.map("weight" -> _) ++
      initScore.map("initScore" -> _) ++ groupCol.map("group" -> _)
    def position(role: String) = selected.indexWhere(_._1 == role)
    val initScoreType = initScore.map(s =>
      schema(s).dataType match {
        case _: NumericType => DoubleType
        case _: ArrayType => ArrayType(DoubleType)
        case other => other
      }).getOrElse(DoubleType)
    val columns = TrainColumns(uid, names, position("weight"), position("initScore"), position("group"),
      initScoreType, groupCol.map(g => schema(g).dataType).getOrElse(DoubleType))
    val cols = selected.map { case (role, c) => c.as(role) }
    val (train, valid) = validation match {
      case Some(v) =>
        val flag = col(v)
        (df.filter(!flag || flag.isNull).select(cols: _*),
          Some(df.filter(flag).select(cols: _*).queryExecution.toRdd.map(_.copy()).collect()))
      case None => (df.select(cols: _*), None)
    }

    val slots = LightGBMTrainer.slots(df)
    val numTasks = if (stage.getNumTasks > 0) stage.getNumTasks else math.min(df.rdd.getNumPartitions, slots)
    if (numTasks > slots) throw new IllegalArgumentException(
      s"$uid.numTasks: $numTasks workers, but the cluster has $slots task slots (cores / spark.task.cpus). " +
        "Expected: at most the slots, since all workers of a barrier stage run at once")
    val arranged = LightGBMTrainer.arrange(train, numTasks, groupCol.map(_ => "group"))

    val categorical = categoricalSlots(stage, schema(featuresCol))
    val threads = if (stage.getOrDefault(stage.numThreads) > 0) stage.getOrDefault(stage.numThreads)
    else df.sparkSession.sparkContext.getConf.getInt("spark.task.cpus", 1)
    val distributed = if (numTasks > 1) Seq(
      "tree_learner" -> (if (stage.getOrDefault(stage.parallelism) == "voting_parallel") "voting" else "data"),
      "num_machines" -> numTasks.toString)
    else Nil
    // What the fit derives (e.g. multiclass for more than two classes) replaces what the Params say.
    val fromFit = derived ++ Seq("num_threads" -> threads.toString) ++
      (if (categorical.nonEmpty) Seq("categorical_feature" -> categorical.mkString(",")) else Nil) ++ distributed
    val parameters = stage.nativeParameters.filterNot(p => fromFit.exists(_._1 == p._1)) ++ fromFit
    val plan = TrainPlan(uid, columns, task, parameters, stage.getNumIterations, stage.getEarlyStoppingRound, numTasks,
      stage.getTimeout, stage.getImprovementTolerance, stage.getMatrixType, stage.getDefaultListenPort,
      initModel.getOrElse(""))
    val (text, best) = LightGBMTrainer.train(arranged, valid, plan)
    Result(text, if (best > 0) best else -1)
  }

  /** categoricalSlotIndexes plus the slots that categoricalSlotNames names in the vector's attribute metadata. */
  private def categoricalSlots(stage: LightGBMParams, features: StructField): Seq[Int] = {
    val names = stage.getOrDefault(stage.categoricalSlotNames)
    val byName = if (names.isEmpty) Nil
    else {
      val group = AttributeGroup.fromStructField(features)
      val known =
        group.attributes.map(_.flatMap(a => a.name.map(_ -> a.index.getOrElse(-1))).toMap).getOrElse(Map.empty)
      names.toSeq.map { n =>
        known.getOrElse(n,
          throw new IllegalArgumentException(
            s"${stage.uid}.categoricalSlotNames: '$n' is not a slot name of '${features.name}'. Expected: one of " +
              s"${if (known.isEmpty) "(the column has no slot names in its ML attribute metadata)"
                else known.keys.toSeq.sorted.mkString(", ")}"))
      }
    }
    (stage.getOrDefault(stage.categoricalSlotIndexes).toSeq ++ byName).distinct.sorted
  }
}
