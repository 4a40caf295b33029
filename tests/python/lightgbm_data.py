"""Rows and settings the LightGBM tests share: frames of numpy data, columns back as arrays, and the settings under
which Irbis and lightgbm Python train the same model (one thread, deterministic)."""

import numpy as np
from pyspark.ml.linalg import DenseVector, Vectors

TOL = 1e-9
# lightgbm Python's parameters matching irbis_params' settings.
BASE = {"num_threads": 1, "deterministic": True, "verbose": -1, "min_data_in_leaf": 5}


def frame(spark, X, y, partitions=1, ordered=True, **extra):
    """A DataFrame with an ``id``, ``features`` (dense vectors), ``label`` and any extra per-row columns, in
    ``partitions`` partitions (ordered by ``id`` within each unless ``ordered`` is false)."""
    rows = []
    for i in range(len(y)):
        row = [i, Vectors.dense(X[i].tolist()), float(y[i])]
        row += [extra[k][i] for k in extra]
        rows.append(tuple(row))
    cols = ["id", "features", "label"] + list(extra)
    df = spark.createDataFrame(rows, cols).repartition(partitions)
    return df.sortWithinPartitions("id") if ordered else df


def collect(df, *cols):
    """The columns as numpy arrays (vectors as rows), ordered by ``id``."""
    rows = df.orderBy("id").select(*cols).collect()
    return [np.array([r[c].toArray() if isinstance(r[c], DenseVector) else r[c] for r in rows]) for c in cols]


def irbis_params(stage, **params):
    """``stage`` with ``params`` set through its setters, and the settings of BASE."""
    for k, v in params.items():
        getattr(stage, "set" + k[0].upper() + k[1:])(v)
    return stage.setNumThreads(1).setDeterministic(True).setMinDataInLeaf(5)
