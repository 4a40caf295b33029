package irbis.lightgbm

import java.net.{InetAddress, ServerSocket}

import scala.collection.mutable.ArrayBuffer

import com.microsoft.ml.lightgbm.{lightgbmlib => lib, SWIGTYPE_p_void}
import org.apache.spark.{BarrierTaskContext, SparkEnv, SparkException, TaskContext}
import org.apache.spark.broadcast.Broadcast
import org.apache.spark.sql.DataFrame
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.functions.col

/** What a fit needs besides the rows: LightGBM's parameters and how the workers run. */
final case class TrainPlan(
  stage: String,
  columns: TrainColumns,
  task: LearningTask,
  parameters: Seq[(String, String)],
  numIterations: Int,
  earlyStoppingRound: Int,
  numTasks: Int,
  timeoutSeconds: Double,
  improvementTolerance: Double,
  matrixType: String,
  listenPort: Int,
  initModel: String)

/**
 * Distributed training: one LightGBM worker per Spark task, all started together by Spark's barrier execution
 * mode. Each task reads its partition into LightGBM's dataset, binds a port on its executor's address, and the
 * workers exchange their addresses through `BarrierTaskContext.allGather` (not through the driver), then connect
 * through LightGBM's own network (`LGBM_NetworkInit`) and train together; worker 0 returns the model text. One
 * worker trains without the network. A task that dies makes Spark rerun the whole barrier stage.
 *
 * Validation rows (for metrics and early stopping) are gathered once and given to every worker whole, so every
 * worker computes the same metrics and all stop at the same iteration.
 */
object LightGBMTrainer {

  /** The result of one worker: the model text (worker 0), or a bad row found before training. */
  private final case class Outcome(model: Option[String], badRow: Option[String], bestIteration: Int)

  def train(rows: DataFrame, validation: Option[Array[InternalRow]], plan: TrainPlan): (String, Int) = {
    val spark = rows.sparkSession
    val sc = spark.sparkContext
    val valid: Option[Broadcast[Array[InternalRow]]] = validation.map(sc.broadcast(_))
    try {
      val outcomes = try run(rows, valid, plan)
      catch {
        case e: SparkException if String.valueOf(e.getMessage).contains("Barrier execution mode does not allow") =>
          // The plan's RDD chain has a partition count change inside the stage: a shuffle ends that stage.
          run(rows.repartition(plan.numTasks), valid, plan)
      }
      outcomes.flatMap(_.badRow).headOption.foreach(m => throw new IllegalArgumentException(m))
      outcomes.find(_.model.isDefined) match {
        case Some(o) => (o.model.get, o.bestIteration)
        case None => throw new IllegalArgumentException(s"${plan.stage}: no training rows (every partition is empty)")
      }
    } finally valid.foreach(_.destroy())
  }

  // The workers' outcomes go through a shuffle: Spark reruns a failed barrier stage only when it is a map stage
  // (a failed barrier result stage ends the job).
  private def run(rows: DataFrame, valid: Option[Broadcast[Array[InternalRow]]], plan: TrainPlan): Array[Outcome] =
    rows.queryExecution.toRdd.barrier().mapPartitions(it => Iterator(worker(it, valid, plan))).repartition(1).collect()

  private def worker(rows: Iterator[InternalRow], valid: Option[Broadcast[Array[InternalRow]]], plan: TrainPlan)
    : Outcome = {
    val ctx = BarrierTaskContext.get()
    val partition = ctx.partitionId()
    LightGBMNative.ensureLoaded()
    val data = new PartitionData(plan.columns, plan.task, partition, plan.matrixType)
    val badRow = try { rows.foreach(data.add); None }
    catch { case e: BadRowException => Some(e.getMessage) }
    // Every worker says how it is, so that all leave together when one has a bad row or no rows.
    val (host, port) =
      if (badRow.isEmpty && data.rows > 0) freePort(plan.listenPort, partition, plan.numTasks) else ("", 0)
    val state = badRow.map(m => "bad\t" + m).getOrElse(s"ok\t$host:$port\t${data.rows}\t${data.numFeatures}")
    val everyone = allGather(ctx, state)
    val bad = everyone.find(_.startsWith("bad\t")).map(_.stripPrefix("bad\t"))
    if (bad.isDefined) return Outcome(None, if (badRow.isDefined) badRow else None, 0)
    val working = everyone.map(_.split('\t')).filter(_(2).toLong > 0)
    if (data.rows == 0) return Outcome(None, None, 0)
    val sizes = working.map(_(3).toInt).distinct
    if (sizes.length > 1) return Outcome(None,
      Some(s"${plan.stage}: featuresCol '${plan.columns.name("features")}' " +
        s"holds vectors of sizes ${sizes.mkString(" and ")} in different partitions. Expected: one size"), 0)
    val machines = working.map(_(1))
    val rank = machines.indexOf(s"$host:$port")
    val network = machines.length > 1
    // LightGBM's lower ranks connect to the higher ones, and a refused connection waits 10 s before trying
    // again: the higher ranks start listening first.
    if (network) Thread.sleep(150L * (machines.length - 1 - rank))
    if (network) {
      val watchdog = new InitWatchdog(ctx, host, port, rank)
      try LightGBMNative.check(
          lib.LGBM_NetworkInit(machines.mkString(","), port, timeoutMinutes(plan.timeoutSeconds), machines.length),
          s"${plan.stage}: connecting LightGBM's workers ${machines.mkString(",")} (worker $rank)")
      finally watchdog.finish()
      checkInterrupted()
    }
    try {
      val (text, best) = trainHere(data, valid.map(_.value), plan, partition)
      Outcome(if (rank == 0) Some(text) else None, None, best)
    } finally if (network) lib.LGBM_NetworkFree()
  }

  /** LightGBM's network takes its time_out in whole minutes: `seconds` rounded up, at least 1. */
  private[lightgbm] def timeoutMinutes(seconds: Double): Int =
    math.max(1.0, math.min(Int.MaxValue.toDouble, math.ceil(seconds / 60))).toInt

  /**
   * `ctx.allGather(message)`, returned as soon as the last worker's message is in. Spark's BarrierTaskContext checks
   * for the coordinator's answer between sleeps of one second (`Thread.sleep(1000)`, which an interrupt only cuts short
   * to check whether the task was killed), so every worker but the last would wait up to a second more. A daemon
   * thread interrupts that sleep, and only that sleep (the waiting thread's top frames are Thread.sleep called from
   * BarrierTaskContext), every 10 ms; the interrupt flag it may leave behind is cleared afterwards. A real kill is
   * still seen: Spark marks the task context killed before it interrupts, and both Spark and [[checkInterrupted]]
   * look there.
   */
  private def allGather(ctx: BarrierTaskContext, message: String): Array[String] = {
    val caller = Thread.currentThread()
    @volatile var waiting = true
    def inBarrierSleep: Boolean = caller.getState == Thread.State.TIMED_WAITING && {
      val frames = caller.getStackTrace.take(4)
      frames.headOption.exists(f => f.getClassName == "java.lang.Thread" && f.getMethodName == "sleep") &&
      frames.exists(_.getClassName.startsWith("org.apache.spark.BarrierTaskContext"))
    }
    val poker = new Thread(() =>
        while (waiting) {
          try Thread.sleep(10)
          catch { case _: InterruptedException => }
          if (waiting && inBarrierSleep) caller.interrupt()
        }, "irbis-lightgbm-allgather")
    poker.setDaemon(true)
    poker.start()
    try ctx.allGather(message)
    finally {
      waiting = false
      var joined = false
      while (!joined) try { poker.join(); joined = true }
      catch { case _: InterruptedException => }
      Thread.interrupted()
      checkInterrupted()
    }
  }

  /**
   * A free port on this executor's address: any when `first` is 0, else the first free one of `first + partition`,
   * then steps of `workers` (so workers on one executor never pick the same port). It is
   * released before the addresses are exchanged: a port still listening would accept a peer's connection that
   * LightGBM never sees, which then breaks at the first message.
   */
  private def freePort(first: Int, partition: Int, workers: Int): (String, Int) = {
    val named = Option(SparkEnv.get).map(_.blockManager.blockManagerId.host).getOrElse("127.0.0.1")
    val address = InetAddress.getByName(named)
    // LightGBM finds its own rank by matching its interfaces' addresses against the list.
    val ip = if (address.isLoopbackAddress) "127.0.0.1" else address.getHostAddress
    def bind(port: Int): Option[Int] =
      try {
        val socket = new ServerSocket(port, 1, InetAddress.getByName(ip))
        try Some(socket.getLocalPort)
        finally socket.close()
      } catch { case _: java.io.IOException if port != 0 => None }
    val candidates = Iterator.iterate(first + partition)(_ + math.max(1, workers)).takeWhile(_ <= 65535).take(1000)
    val port = if (first == 0) bind(0) else candidates.flatMap(bind).nextOption()
    (ip,
      port.getOrElse(throw new LightGBMException(
          s"worker $partition: no free port on $ip from defaultListenPort $first + $partition in steps of $workers")))
  }

  private def trainHere(data: PartitionData, valid: Option[Array[InternalRow]], plan: TrainPlan, partition: Int)
    : (String, Int) = {
    val params = LightGBMParams.parameterString(plan.parameters)
    val handles = ArrayBuffer[SWIGTYPE_p_void]()
    var booster: SWIGTYPE_p_void = null
    try {
      val train = data.toDataset(params, null)
      handles += train
      val validSet = valid.filter(_.nonEmpty).map { rows =>
        val v = new PartitionData(plan.columns.copy(stage = s"${plan.stage} (validation rows)"), plan.task, partition,
          plan.matrixType)
        rows.foreach(v.add)
        val d = v.toDataset(params, train)
        handles += d
        d
      }
      val out = lib.voidpp_handle()
      try {
        LightGBMNative.check(lib.LGBM_BoosterCreate(train, params, out), s"${plan.stage}: creating the booster")
        booster = lib.voidpp_value(out)
      } finally lib.delete_voidpp(out)
      validSet.foreach(v =>
        LightGBMNative.check(lib.LGBM_BoosterAddValidData(booster, v),
          s"${plan.stage}: adding the validation rows"))
      // modelString: its trees come first (the rows' initial scores are its raw scores), as lightgbm.train does.
      val initIterations = if (plan.initModel.isEmpty) 0
      else {
        val init = LightGBMBooster.load(plan.initModel)
        try {
          LightGBMNative.check(init.mergeInto(booster), s"${plan.stage}: adding modelString's trees")
          init.numIterations
        } finally init.free()
      }
      val best = boost(booster, validSet.isDefined, plan)
      val kept = if (best > 0) best + initIterations else 0
      (modelText(booster, if (kept > 0) kept else -1), kept)
    } finally {
      if (booster != null) lib.LGBM_BoosterFree(booster)
      handles.reverse.foreach(lib.LGBM_DatasetFree)
    }
  }

  /**
   * The boosting loop, with lightgbm.train's early stopping: every validation metric is watched, and training
   * stops when one has not improved (by more than improvementTolerance) for earlyStoppingRound iterations; the best
   * iteration (1-based) is returned,
   * 0 when training ran to the end.
   */
  private def boost(booster: SWIGTYPE_p_void, hasValid: Boolean, plan: TrainPlan): Int = {
    val finished = lib.new_intp()
    val stopping = hasValid && plan.earlyStoppingRound > 0
    val names = if (stopping) evalNames(booster) else Array.empty[String]
    val higherBetter = names.map(n => Seq("auc", "ndcg@", "map@", "average_precision").exists(n.startsWith))
    val bestScore = Array.fill(names.length)(Double.NaN)
    val bestIter = Array.fill(names.length)(0)
    val results = lib.new_doubleArray(math.max(names.length, 1).toLong)
    val len = lib.new_intp()
    try {
      var i = 0
      while (i < plan.numIterations) {
        checkInterrupted()
        LightGBMNative.check(lib.LGBM_BoosterUpdateOneIter(booster, finished), s"${plan.stage}: iteration ${i + 1}")
        if (lib.intp_value(finished) == 1) return 0
        if (stopping) {
          LightGBMNative.check(lib.LGBM_BoosterGetEval(booster, 1, len, results), s"${plan.stage}: evaluating")
          val scores = LightGBMNative.readDoubles(results, names.length)
          var m = 0
          while (m < names.length) {
            val s = scores(m)
            val tolerance = plan.improvementTolerance
            if (bestScore(m).isNaN ||
              (if (higherBetter(m)) s > bestScore(m) + tolerance else s < bestScore(m) - tolerance)) {
              bestScore(m) = s
              bestIter(m) = i
            } else if (i - bestIter(m) >= plan.earlyStoppingRound) return bestIter(m) + 1
            m += 1
          }
        }
        i += 1
      }
      0
    } finally {
      lib.delete_intp(finished)
      lib.delete_intp(len)
      lib.delete_doubleArray(results)
    }
  }

  private def checkInterrupted(): Unit =
    Option(TaskContext.get()).filter(_.isInterrupted()).foreach { c =>
      throw new InterruptedException(s"task ${c.taskAttemptId()} was killed")
    }

  private def evalNames(booster: SWIGTYPE_p_void): Array[String] = {
    val handle = lib.LGBM_BoosterGetEvalNamesSWIG(booster)
    if (handle == null) throw new LightGBMException(s"LGBM_BoosterGetEvalNames: ${lib.LGBM_GetLastError()}")
    try lib.StringArrayHandle_get_strings(handle)
    finally lib.StringArrayHandle_free(handle)
  }

  /** The model text of the first `numIteration` iterations (-1: all). */
  def modelText(booster: SWIGTYPE_p_void, numIteration: Int): String = {
    val len = lib.new_int64_tp()
    try {
      var size = 1L << 20
      var text = lib.LGBM_BoosterSaveModelToStringSWIG(booster, 0, numIteration, 0, size, len)
      if (lib.int64_tp_value(len) > size) {
        size = lib.int64_tp_value(len)
        text = lib.LGBM_BoosterSaveModelToStringSWIG(booster, 0, numIteration, 0, size, len)
      }
      if (text == null) throw new LightGBMException(s"LGBM_BoosterSaveModelToString: ${lib.LGBM_GetLastError()}")
      text
    } finally lib.delete_int64_tp(len)
  }

  /** Task slots of the application: cores over spark.task.cpus. */
  def slots(rows: DataFrame): Int = {
    val sc = rows.sparkSession.sparkContext
    val cpus = sc.getConf.getInt("spark.task.cpus", 1)
    math.max(1, sc.defaultParallelism / cpus)
  }

  /**
   * The rows arranged in `numTasks` partitions. A ranker's rows are always arranged by query (hashed to a
   * partition, then sorted within it), since LightGBM needs each query's rows together on one worker.
   */
  def arrange(rows: DataFrame, numTasks: Int, groupCol: Option[String]): DataFrame = groupCol match {
    case Some(g) => rows.repartition(numTasks, col(g)).sortWithinPartitions(col(g))
    case None => if (rows.rdd.getNumPartitions == numTasks) rows else rows.repartition(numTasks)
  }

  /**
   * LightGBM waits without end for its lower ranks to connect. When Spark kills the barrier stage (another worker
   * failed), this thread unblocks that wait by connecting as those ranks, so the task ends and frees its slot
   * instead of holding it until the JVM exits.
   */
  private final class InitWatchdog(ctx: TaskContext, host: String, port: Int, rank: Int)
    extends Thread("lightgbm-init-watchdog") {
    @volatile private var done = false
    setDaemon(true)
    start()

    def finish(): Unit = { done = true; interrupt() }

    override def run(): Unit =
      try {
        while (!done && !ctx.isInterrupted()) Thread.sleep(200)
        if (!done) (0 until rank).foreach { lower =>
          val s = new java.net.Socket(host, port)
          val rankBytes = java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(lower).array()
          s.getOutputStream.write(rankBytes)
          s.getOutputStream.flush()
          s.close()
        }
      } catch { case _: InterruptedException | _: java.io.IOException => }
  }
}
