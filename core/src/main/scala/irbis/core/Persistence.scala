package irbis.core

import scala.util.control.NonFatal

import org.apache.hadoop.fs.Path
import org.apache.spark.SPARK_VERSION
import org.apache.spark.ml.PipelineStage
import org.apache.spark.ml.param.{Param, Params}
import org.apache.spark.ml.util.{MLReader, MLWritable, MLWriter}
import org.apache.spark.sql.SparkSession
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

/*
 * Stage folders use Spark's metadata layout (`metadata/part-00000`, one JSON line with class, uid,
 * paramMap and defaultParamMap), so Spark's Pipeline and Python's JavaMLReader load Irbis stages like
 * their own. Payloads and nested stages, which do not belong in JSON, go to `complexParams/<name>`.
 */
private[irbis] object StageFolder {
  def metadataPath(path: String): String = new Path(path, "metadata").toString
  def complexPath(path: String, name: String): Path = new Path(new Path(path, "complexParams"), name)

  def writeMetadata(instance: Params, path: String, spark: SparkSession): Unit = {
    def encode(pairs: Seq[(Param[Any], Any)]): JObject =
      JObject(pairs.filterNot { case (p, _) => ParamKind.isComplex(instance, p) }
          .sortBy(_._1.name)
          .map { case (p, v) => JField(p.name, parse(p.jsonEncode(v))) }.toList)
    val params = instance.params.map(_.asInstanceOf[Param[Any]])
    val json = JObject(
      "class" -> JString(instance.getClass.getName),
      "timestamp" -> JLong(System.currentTimeMillis()),
      "sparkVersion" -> JString(SPARK_VERSION),
      "irbisVersion" -> JString(Version.value),
      "uid" -> JString(instance.uid),
      "paramMap" -> encode(params.toSeq.flatMap(p => instance.get(p).map(v => (p, v)))),
      "defaultParamMap" -> encode(params.toSeq.flatMap(p => instance.getDefault(p).map(v => (p, v)))))
    spark.sparkContext.parallelize(Seq(compact(render(json))), 1).saveAsTextFile(metadataPath(path))
  }

  def readMetadata(path: String, spark: SparkSession): JObject = {
    val text = try spark.sparkContext.textFile(metadataPath(path), 1).first()
    catch {
      case NonFatal(e) => throw new IllegalArgumentException(s"No Spark ML stage saved at $path: ${e.getMessage}", e)
    }
    parse(text) match {
      case o: JObject => o
      case _ => throw new IllegalArgumentException(s"The metadata at $path is not a JSON object")
    }
  }

  def field(meta: JObject, name: String, path: String): String = meta \ name match {
    case JString(s) => s
    case _ => throw new IllegalArgumentException(s"The metadata at $path has no '$name'")
  }

  /** Loads any saved Spark ML stage (Irbis or not) through its companion's `read`. */
  def loadStage(path: String, spark: SparkSession): PipelineStage = {
    val className = field(readMetadata(path, spark), "class", path)
    val cls = Class.forName(className, true, Thread.currentThread().getContextClassLoader)
    val reader = cls.getMethod("read").invoke(null).asInstanceOf[MLReader[PipelineStage]]
    reader.session(spark).load(path)
  }
}

private[irbis] class IrbisWriter(instance: Params) extends MLWriter {
  override protected def saveImpl(path: String): Unit = {
    StageFolder.writeMetadata(instance, path, sparkSession)
    instance.params.filter(p => ParamKind.isComplex(instance, p) && instance.isDefined(p)).foreach { p =>
      val target = StageFolder.complexPath(path, p.name)
      instance.getOrDefault(p) match {
        case bytes: Array[Byte] =>
          val fs = target.getFileSystem(sparkSession.sparkContext.hadoopConfiguration)
          val out = fs.create(target)
          try out.write(bytes)
          finally out.close()
        case stage: MLWritable =>
          stage.write.session(sparkSession).save(target.toString)
        case stages: Array[_] =>
          // The folder exists even for an empty list, so that loading sets the Param back.
          target.getFileSystem(sparkSession.sparkContext.hadoopConfiguration).mkdirs(target)
          stages.zipWithIndex.foreach {
            case (stage: MLWritable, i) => stage.write.session(sparkSession).save(new Path(target, i.toString).toString)
            case (other, i) => throw new UnsupportedOperationException(
                s"${instance.uid}: Param '${p.name}' element $i is ${other.getClass.getName}, which cannot be saved (not MLWritable)")
          }
        case other =>
          throw new UnsupportedOperationException(
            s"${instance.uid}: Param '${p.name}' holds ${other.getClass.getName}, which cannot be saved (not MLWritable)")
      }
    }
  }
}

private[irbis] class IrbisReader[T] extends MLReader[T] {
  override def load(path: String): T = {
    val meta = StageFolder.readMetadata(path, sparkSession)
    val className = StageFolder.field(meta, "class", path)
    val uid = StageFolder.field(meta, "uid", path)
    val cls = Class.forName(className, true, Thread.currentThread().getContextClassLoader)
    val instance = cls.getConstructor(classOf[String]).newInstance(uid).asInstanceOf[Params]
    def decode(section: String)(apply: (Param[Any], Any) => Unit): Unit = meta \ section match {
      case JObject(fields) => fields.foreach { case (name, value) =>
          if (!instance.hasParam(name))
            throw new IllegalArgumentException(s"$path: $className has no Param '$name' (saved by another version?)")
          val p = instance.getParam(name).asInstanceOf[Param[Any]]
          apply(p, p.jsonDecode(compact(render(value))))
        }
      case _ =>
    }
    decode("defaultParamMap")((p, v) => ParamsAccess.setDefault(instance, p, v))
    decode("paramMap")((p, v) => instance.set(p, v))
    val fs = new Path(path).getFileSystem(sparkSession.sparkContext.hadoopConfiguration)
    instance.params.filter(p => ParamKind.isComplex(instance, p)).foreach { p =>
      val source = StageFolder.complexPath(path, p.name)
      if (fs.exists(source)) {
        val value: Any = ParamKind.of(instance, p) match {
          case "bytes" =>
            val in = fs.open(source)
            try in.readAllBytes()
            finally in.close()
          case "stage[]" =>
            val indices = fs.listStatus(source).filter(_.isDirectory).map(_.getPath.getName)
              .filter(_.forall(_.isDigit)).map(_.toInt).sorted
            indices.map(i => StageFolder.loadStage(new Path(source, i.toString).toString, sparkSession))
          case _ => StageFolder.loadStage(source.toString, sparkSession)
        }
        instance.set(p.asInstanceOf[Param[Any]], value)
      }
    }
    instance.asInstanceOf[T]
  }
}

/** `Params.setDefault` is protected; loading restores saved defaults, as Spark's own reader does. */
private[irbis] object ParamsAccess {
  def setDefault(instance: Params, p: Param[Any], value: Any): Unit = {
    val m = classOf[Params].getDeclaredMethod("setDefault", classOf[Param[_]], classOf[Object])
    m.setAccessible(true)
    m.invoke(instance, p, value.asInstanceOf[AnyRef])
  }
}
