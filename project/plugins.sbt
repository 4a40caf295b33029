addSbtPlugin("com.eed3si9n" % "sbt-assembly" % "2.3.1")
// `make lint` / `make fmt`: scalafmt at the version pinned in .scalafmt.conf.
addSbtPlugin("org.scalameta" % "sbt-scalafmt" % "2.5.6")
