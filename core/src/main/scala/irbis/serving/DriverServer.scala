package irbis.serving

/**
 * Micro-batch mode: the server in the driver. Its requests are planned into micro-batches by [[ServingStream]]
 * (offsets are request numbers) and answered in the sink's commit, once Spark has committed the whole batch.
 */
final class DriverServer private[serving] (config: ServingConfig)
  extends RequestServer(config, java.util.UUID.randomUUID().toString) {
  @volatile private var plannedUpTo = 0L

  /** The unanswered requests numbered in (start, end]; remembers `end` for [[finishBatch]]. An empty range
   * (start == end) is planned too: asynchronous progress tracking can run such a batch. */
  private[serving] def plan(start: Long, end: Long): Seq[ServingRequest] = {
    plannedUpTo = math.max(plannedUpTo, end)
    unanswered(start, end)
  }

  /** After a committed batch: every planned request the pipeline did not answer gets 400 or 500 ([[settle]]). */
  private[serving] def finishBatch(nullReplies: Set[Long]): Unit = settle(plannedUpTo, nullReplies)

  /** A failed batch: its planned requests get 500. */
  private[serving] def abortBatch(reason: String): Unit = failUpTo(plannedUpTo, 500, reason)

  override protected def stopped(): Unit = ServingRegistry.forget(this)
}
