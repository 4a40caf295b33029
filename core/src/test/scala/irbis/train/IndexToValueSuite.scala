package irbis.train

import irbis.testkit.{ExampleSource, StageExample}
import org.apache.spark.sql.SparkSession

/** IndexToValue's behaviour is tested with ValueIndexer's, in ValueIndexerSuite. */
class IndexToValueExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = ValueIndexerData.table(spark)
    val indexed = new ValueIndexer().setInputCol("n").setOutputCol("i").fit(df).transform(df)
    Seq(StageExample("IndexToValue-metadata", new IndexToValue().setInputCol("i").setOutputCol("n2"), indexed),
      StageExample("IndexToValue-levels",
        new IndexToValue().setInputCol("i").setOutputCol("name")
          .setLevels(Array("nine", "ten", "hundred")), indexed))
  }
}
