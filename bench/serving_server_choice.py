"""How the HTTP server of irbis.serving was chosen (issue 21): the trivial pipeline served in low-latency mode
(and with ``mb``, micro-batch mode with the 50 ms trigger), one wrk client closed loop for 10 s, then again while 50
slow clients (bench_serving_latency.SlowClients) hold connections open with partial headers.

Run it once per jar, back to back on the same machine, e.g. the JDK-server jar of the commit before the change and
the Netty one after it:
    IRBIS_JAR=old/irbis-assembly.jar python bench/serving_server_choice.py jdk
    IRBIS_JAR=build/jars/irbis-assembly.jar python bench/serving_server_choice.py netty [mb]
(with PYTHONPATH=python:build/generated/python from a source tree, or an installed irbis).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_serving_latency as bench  # noqa: E402

import irbis  # noqa: E402


def main(label, modes):
    from pyspark.sql import functions as F

    from irbis.serving import make_reply, parse_request, partition_urls, server, status, url

    spark = irbis.session(app_name="serving-server-choice", master="local[2]",
                          **{"spark.driver.memory": "4g", "spark.ui.enabled": "false"})
    case = bench.trivial_case(spark)
    for mode in modes:
        name = f"choice_{mode}"
        reader = server(spark.readStream).address("127.0.0.1", 0, name)
        if mode == "ll":
            reader = reader.option("mode", "lowLatency")
        replies = case.model.transform(parse_request(reader.load(), case.schema)) \
            .select("id", make_reply(F.struct("prediction")))
        writer = server(replies.writeStream).replyTo(name)
        query = (writer if mode == "ll" else writer.trigger(processingTime="50 milliseconds")).start()
        target = partition_urls(name)[0] if mode == "ll" else url(name)
        bench.check(target, case)
        bench.wrk(target, case.body, 1, bench.WARMUP)
        print(label, mode, "1 client: req/s, p50 ms, p99 ms, failed", bench.wrk(target, case.body, 1, bench.DURATION))
        with bench.SlowClients(target) as slow:
            row = bench.wrk(target, case.body, 1, bench.DURATION, timeout=5)
            print(label, mode, f"1 client + {bench.SLOW_CLIENTS} slow: req/s, p50 ms, p99 ms, failed", row,
                  "slow connections closed by the server:", slow.reopened)
        print(label, mode, status(name))
        query.stop()
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or ["ll"])
