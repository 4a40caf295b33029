package irbis.testkit

import org.scalatest.Tag

/**
 * A test that starts Spark of its own (a standalone cluster, an application in another process), as the Python
 * suite's `own_spark` mark: `make test` runs it, `make test-quick` leaves it out.
 */
object OwnSpark extends Tag("irbis.OwnSpark")
