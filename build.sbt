// Irbis: deep learning, computer vision and model explanation stages for Apache Spark.
ThisBuild / organization := "io.github.irbis-ml"
ThisBuild / version := IO.read(file("VERSION")).trim
ThisBuild / scalaVersion := "2.13.17"
ThisBuild / scalacOptions ++= Seq("-deprecation", "-feature", "-release", "17")
ThisBuild / licenses := Seq("Apache-2.0" -> url("https://www.apache.org/licenses/LICENSE-2.0"))
ThisBuild / homepage := Some(url("https://irbis-ml.github.io"))

val sparkVersion = "4.1.0"
val nettyVersion = "4.2.7.Final" // the version spark-core 4.1.0 depends on
val onnxruntimeVersion = "1.29.0"
// LightGBM 3.3.5 through Microsoft's SWIG binding (JNI classes and the natives in one jar); the parity reference is
// the lightgbm Python package of the same LightGBM version (requirements-dev.txt).
val lightgbmlibVersion = "3.3.510"
val javacppVersion = "1.5.13"
val opencvVersion = s"4.13.0-$javacppVersion"
val openblasVersion = s"0.3.31-$javacppVersion"
val nativePlatform = "linux-x86_64"

// The JVM flags Spark's own launcher adds on Java 17 (SparkSubmit's JavaModuleOptions).
val sparkJavaOptions = Seq(
  "-XX:+IgnoreUnrecognizedVMOptions",
  "--add-modules=jdk.incubator.vector",
  "--add-opens=java.base/java.lang=ALL-UNNAMED",
  "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
  "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
  "--add-opens=java.base/java.io=ALL-UNNAMED",
  "--add-opens=java.base/java.net=ALL-UNNAMED",
  "--add-opens=java.base/java.nio=ALL-UNNAMED",
  "--add-opens=java.base/java.util=ALL-UNNAMED",
  "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
  "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
  "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
  "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
  "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
  "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
  "-Djdk.reflect.useDirectMethodHandle=false",
  "-Dio.netty.tryReflectionSetAccessible=true"
)

// The flags of every test JVM, in one file for the three suites (its comment says why).
val testJvmOptions = IO.readLines(file("tests/jvm-options")).map(_.trim).filter(l => l.nonEmpty && !l.startsWith("#"))

val stageBases = Seq("org.apache.spark.ml.Transformer", "org.apache.spark.ml.Estimator")

lazy val core = (project in file("core"))
  .settings(
    name := "irbis-core",
    libraryDependencies ++= Seq(
      "org.apache.spark" %% "spark-core" % sparkVersion % Provided,
      "org.apache.spark" %% "spark-sql" % sparkVersion % Provided,
      "org.apache.spark" %% "spark-mllib" % sparkVersion % Provided,
      // Spark Serving's HTTP server: the Netty that Spark 4.1.0 itself ships, so provided (never in the assembly)
      "io.netty" % "netty-codec-http" % nettyVersion % Provided,
      "io.netty" % "netty-transport-classes-epoll" % nettyVersion % Provided,
      "com.microsoft.onnxruntime" % "onnxruntime" % onnxruntimeVersion,
      "com.microsoft.ml.lightgbm" % "lightgbmlib" % lightgbmlibVersion,
      "org.bytedeco" % "javacpp" % javacppVersion,
      "org.bytedeco" % "javacpp" % javacppVersion classifier nativePlatform,
      "org.bytedeco" % "opencv" % opencvVersion,
      "org.bytedeco" % "opencv" % opencvVersion classifier nativePlatform,
      "org.bytedeco" % "openblas" % openblasVersion,
      "org.bytedeco" % "openblas" % openblasVersion classifier nativePlatform,
      "org.scalatest" %% "scalatest" % "3.2.19" % Test
    ),
    // Registry of stages (Spark 4's own ServiceLoader files), written from the compiled classes.
    Compile / resourceGenerators += Def.task {
      val _ = (Compile / compile).value
      val classDir = (Compile / classDirectory).value
      val cp = (Compile / dependencyClasspath).value.files
      val out = (Compile / resourceManaged).value
      val found = StageRegistry.scan(classDir, cp, stageBases, "irbis.")
      val versionFile = out / "irbis" / "version.properties"
      IO.write(versionFile, s"version=${version.value}\nspark=$sparkVersion\nscala=${scalaVersion.value}\n")
      versionFile +: StageRegistry.write(out, found)
    }.taskValue,
    // Test-only stages and every stage's examples are registered the same way in the test jar.
    Test / resourceGenerators += Def.task {
      val _ = (Test / compile).value
      val classDir = (Test / classDirectory).value
      val cp = (Test / dependencyClasspath).value.files
      val out = (Test / resourceManaged).value
      StageRegistry.write(out, StageRegistry.scan(classDir, cp, stageBases :+ "irbis.testkit.ExampleSource", "irbis."))
    }.taskValue,
    Test / fork := true,
    Test / javaOptions ++= sparkJavaOptions ++ Seq("-Xmx3g") ++ testJvmOptions,
    Test / parallelExecution := false,
    Test / testOptions += Tests.Argument(TestFrameworks.ScalaTest, "-oD"),
    Test / publishArtifact := true,
    // Assembly: our classes plus ONNX Runtime and OpenCV (linux-x86_64 natives only); Spark and Scala are provided.
    assembly / assemblyJarName := s"irbis-assembly-${version.value}.jar",
    assembly / assemblyOption ~= (_.withIncludeScala(false)),
    assembly / assemblyExcludedJars := (assembly / fullClasspath).value.filter { f =>
      val n = f.data.getName
      (n.startsWith("javacpp-") || n.startsWith("opencv-") || n.startsWith("openblas-")) && n.contains("-") &&
      Seq("android", "ios", "macosx", "windows", "linux-arm", "linux-ppc", "linux-x86.", "linux-aarch64").exists(
        n.contains)
    },
    assembly / assemblyMergeStrategy := {
      case p if p.startsWith("ai/onnxruntime/native/") && !p.startsWith(s"ai/onnxruntime/native/linux-x64") =>
        MergeStrategy.discard
      case p if p.startsWith("org/bytedeco/") && p.contains("/python/") => MergeStrategy.discard
      case p if p.startsWith("com/microsoft/ml/lightgbm/") && (p.contains("/osx/") || p.contains("/windows/")) =>
        MergeStrategy.discard
      case p if p.startsWith("META-INF/services/") => MergeStrategy.concat
      case p if p.endsWith("module-info.class") => MergeStrategy.discard
      case PathList("META-INF", xs @ _*)
          if xs.lastOption.exists(n => n.endsWith(".SF") || n.endsWith(".DSA") || n.endsWith(".RSA")) =>
        MergeStrategy.discard
      case PathList("META-INF", "MANIFEST.MF") => MergeStrategy.discard
      case PathList("META-INF", "versions", xs @ _*) if xs.lastOption.contains("module-info.class") =>
        MergeStrategy.discard
      case _ => MergeStrategy.first
    }
  )

// The example apps (examples/*.scala): their own small jar, run with the assembly jar beside it.
lazy val examples = (project in file("examples"))
  .dependsOn(core)
  .settings(
    name := "irbis-examples",
    libraryDependencies ++= Seq(
      "org.apache.spark" %% "spark-core" % sparkVersion % Provided,
      "org.apache.spark" %% "spark-sql" % sparkVersion % Provided,
      "org.apache.spark" %% "spark-mllib" % sparkVersion % Provided
    ),
    publish / skip := true
  )

lazy val root = (project in file("."))
  .aggregate(core, examples)
  .settings(publish / skip := true)
