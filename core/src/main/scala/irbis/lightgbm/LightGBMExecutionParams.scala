package irbis.lightgbm

import irbis.core._
import org.apache.spark.ml.param._

/**
 * SynapseML's Params for how its LightGBM stages move data and start workers, so that SynapseML code runs
 * unchanged. Irbis's own way makes most of them unnecessary: the rows go from Spark's internal rows into LightGBM's
 * dataset in chunks, the workers always start together in barrier mode and find each other through
 * `BarrierTaskContext.allGather`, and LightGBM's own distributed dataset construction finds the bins. None of these
 * changes the model; those that would (numBatches, a GPU deviceType) are refused by the fit with what to do instead.
 */
trait LightGBMExecutionParams extends Params {
  final val defaultListenPort = new IntParam(this, "defaultListenPort",
    "The first port each worker tries on its executor (then the next ones); 0: any free port.",
    Validators.inRange(0, 65535))
  final val driverListenPort = new IntParam(this, "driverListenPort",
    "SynapseML's port on the driver. No effect: Irbis's workers meet through Spark's barrier allGather, not a " +
      "socket on the driver.", Validators.inRange(0, 65535))
  final val useBarrierExecutionMode = new BooleanParam(this, "useBarrierExecutionMode",
    "SynapseML's choice of barrier mode. No effect: Irbis always starts its workers in barrier mode.")
  final val useSingleDatasetMode = new BooleanParam(this, "useSingleDatasetMode",
    "SynapseML's one dataset per executor. No effect: Irbis builds one dataset per worker (task).")
  final val executionMode = new EnumParam(this, "executionMode",
    "SynapseML's data path (bulk or streaming). No effect: Irbis copies rows into LightGBM in chunks.",
    Seq("bulk", "streaming"))
  final val dataTransferMode = new EnumParam(this, "dataTransferMode",
    "SynapseML's data path (bulk or streaming). No effect: Irbis copies rows into LightGBM in chunks.",
    Seq("bulk", "streaming"))
  final val microBatchSize = new IntParam(this, "microBatchSize",
    "SynapseML's rows per streaming push. No effect (see dataTransferMode).", Validators.gt(0))
  final val maxStreamingOMPThreads = new IntParam(this, "maxStreamingOMPThreads",
    "SynapseML's threads for streaming data in. No effect (see dataTransferMode).")
  final val chunkSize = new IntParam(this, "chunkSize",
    "SynapseML's rows per copy chunk. No effect: Irbis copies in chunks of 2^20 values.", Validators.gt(0))
  final val samplingMode = new EnumParam(this, "samplingMode",
    "SynapseML's way of sampling rows for bin boundaries (global, subset, fixed). No effect: LightGBM samples " +
      "binSampleCount rows on each worker and agrees the bins across workers.", Seq("global", "subset", "fixed"))
  final val samplingSubsetSize = new IntParam(this, "samplingSubsetSize",
    "SynapseML's sample size for samplingMode subset. No effect (see samplingMode).", Validators.gt(0))
  final val matrixType = new EnumParam(this, "matrixType",
    "How rows are handed to LightGBM: auto (dense or sparse as the partition's first vector), dense, or sparse (CSR).",
    Seq("auto", "dense", "sparse"))
  final val numBatches = new IntParam(this, "numBatches",
    "SynapseML's training in sequential batches of the data. Only 0 (all rows at once) is supported.",
    Validators.gtEq(0))
  final val repartitionByGroupingColumn = new BooleanParam(this, "repartitionByGroupingColumn",
    "SynapseML's ranker repartitioning. No effect: Irbis always brings each query's rows together.")
  final val deviceType = new EnumParam(this, "deviceType",
    "LightGBM's device. Only cpu: the lightgbmlib natives Irbis ships are built for CPUs.", Seq("cpu", "gpu", "cuda"))

  setDefault(defaultListenPort -> 0, driverListenPort -> 0, useBarrierExecutionMode -> true,
    useSingleDatasetMode -> true, executionMode -> "bulk", dataTransferMode -> "bulk", microBatchSize -> 100,
    maxStreamingOMPThreads -> 16, chunkSize -> 10000, samplingMode -> "subset", samplingSubsetSize -> 1000000,
    matrixType -> "auto", numBatches -> 0, repartitionByGroupingColumn -> true, deviceType -> "cpu")

  def setDefaultListenPort(v: Int): this.type = set(defaultListenPort, v)
  def setDriverListenPort(v: Int): this.type = set(driverListenPort, v)
  def setUseBarrierExecutionMode(v: Boolean): this.type = set(useBarrierExecutionMode, v)
  def setUseSingleDatasetMode(v: Boolean): this.type = set(useSingleDatasetMode, v)
  def setExecutionMode(v: String): this.type = set(executionMode, v)
  def setDataTransferMode(v: String): this.type = set(dataTransferMode, v)
  def setMicroBatchSize(v: Int): this.type = set(microBatchSize, v)
  def setMaxStreamingOMPThreads(v: Int): this.type = set(maxStreamingOMPThreads, v)
  def setChunkSize(v: Int): this.type = set(chunkSize, v)
  def setSamplingMode(v: String): this.type = set(samplingMode, v)
  def setSamplingSubsetSize(v: Int): this.type = set(samplingSubsetSize, v)
  def setMatrixType(v: String): this.type = set(matrixType, v)
  def setNumBatches(v: Int): this.type = set(numBatches, v)
  def setRepartitionByGroupingColumn(v: Boolean): this.type = set(repartitionByGroupingColumn, v)
  def setDeviceType(v: String): this.type = set(deviceType, v)
  def getDefaultListenPort: Int = $(defaultListenPort)
  def getDriverListenPort: Int = $(driverListenPort)
  def getUseBarrierExecutionMode: Boolean = $(useBarrierExecutionMode)
  def getUseSingleDatasetMode: Boolean = $(useSingleDatasetMode)
  def getExecutionMode: String = $(executionMode)
  def getDataTransferMode: String = $(dataTransferMode)
  def getMicroBatchSize: Int = $(microBatchSize)
  def getMaxStreamingOMPThreads: Int = $(maxStreamingOMPThreads)
  def getChunkSize: Int = $(chunkSize)
  def getSamplingMode: String = $(samplingMode)
  def getSamplingSubsetSize: Int = $(samplingSubsetSize)
  def getMatrixType: String = $(matrixType)
  def getNumBatches: Int = $(numBatches)
  def getRepartitionByGroupingColumn: Boolean = $(repartitionByGroupingColumn)
  def getDeviceType: String = $(deviceType)

  /** The settings a fit cannot honour, refused with what to do instead. */
  private[lightgbm] def checkExecution(): Unit = {
    if ($(numBatches) > 0) throw new IllegalArgumentException(
      s"$uid.numBatches: ${$(numBatches)}, but Irbis trains on all rows at once. Expected: 0 (to " +
        "train on batches one after another, fit each with the previous model's getNativeModel() as modelString)")
    if ($(deviceType) != "cpu") throw new IllegalArgumentException(
      s"$uid.deviceType: '${$(deviceType)}', but the LightGBM natives Irbis ships run on CPUs only. Expected: cpu")
  }
}
