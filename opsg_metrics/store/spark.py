"""Apache Spark as a second engine for the measures of request records (docs/scale.md).

`session()` starts (once a process) a Spark session in local mode on this machine's cores, or on the
cluster `OPSG_SPARK_MASTER` names (`spark://host:7077`, `yarn`, `k8s://...`); `run` reads a selection's
Parquet files as the view `events` and runs one query on them. The Java runtime is `JAVA_HOME` when set,
else Debian's OpenJDK 17 when installed (/usr/lib/jvm/java-17-openjdk-*), else whatever `java` is on the
path. pyspark is an optional dependency (requirements-spark.txt): without it, or without Java, the error
says how to install them.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import warnings
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from opsg_metrics.store.errors import OpsgError

if TYPE_CHECKING:  # pyspark is optional: imported when the engine starts
    from pyspark.sql import SparkSession

MASTER_ENV = "OPSG_SPARK_MASTER"
# Where a cluster finds the events folder (`s3a://bucket/opsg.duckdb.events`): the manifest's paths are
# read under it instead of the local folder (docs/scale.md, "On a cluster").
EVENTS_URL_ENV = "OPSG_EVENTS_URL"
VIEW = "events"  # the view the records are read as (rules/events.py writes its queries over it)
DEBIAN_JAVA = "/usr/lib/jvm/java-17-openjdk-*"
# Spark writes times in the session's time zone; the records' months and days are already stored as
# text and dates, and UTC keeps timestamps as they were loaded.
CONFIG = {
    "spark.ui.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.ansi.enabled": "true",
    "spark.driver.memory": "2g",
    "spark.sql.parquet.mergeSchema": "true",
    "spark.ui.showConsoleProgress": "false",
}
LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")


def java_home() -> str | None:
    """The Java runtime Spark will use: JAVA_HOME, else Debian's OpenJDK 17, else `java` on the path."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    found = sorted(glob.glob(DEBIAN_JAVA))
    if found:
        return found[0]
    java = shutil.which("java")
    return os.path.dirname(os.path.dirname(os.path.realpath(java))) if java else None


@functools.cache
def session() -> SparkSession:
    """The process's Spark session (local mode on every core unless OPSG_SPARK_MASTER says otherwise)."""
    try:
        with warnings.catch_warnings():  # pyspark's own notice that it predates pandas 3 (no pandas is used)
            warnings.simplefilter("ignore", FutureWarning)
            from pyspark.sql import SparkSession
    except ImportError:
        raise OpsgError(
            "the Spark engine needs pyspark: pip install -r requirements-spark.txt (and a Java runtime: "
            "apt-get install openjdk-17-jre-headless)"
        ) from None
    home = java_home()
    if home is None:
        raise OpsgError("the Spark engine needs a Java runtime: apt-get install openjdk-17-jre-headless")
    os.environ["JAVA_HOME"] = home
    builder = SparkSession.builder.master(os.environ.get(MASTER_ENV, "local[*]")).appName("opsg-metrics")
    for name, value in CONFIG.items():
        builder = builder.config(name, value)
    # The driver's Java options are the launcher's: Spark's log set before its Java process starts.
    os.environ.setdefault(
        "PYSPARK_SUBMIT_ARGS", f"--driver-java-options -Dlog4j.configurationFile=file:{LOG_CONFIG} pyspark-shell"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _plain(value: object) -> object:
    """A Spark value as DuckDB gives it (Spark's exact percentiles are doubles of whole numbers)."""
    return value if isinstance(value, (str, int, float, date)) or value is None else str(value)


def located(files: tuple[str, ...], root: str | None = None) -> tuple[str, ...]:
    """The files as the engine reads them: under $OPSG_EVENTS_URL when set (the same relative paths)."""
    url = os.environ.get(EVENTS_URL_ENV, "").rstrip("/")
    if not url or root is None:
        return files
    return tuple(url + "/" + os.path.relpath(f, root) for f in files)


def run(files: tuple[str, ...], query: str, root: str | None = None) -> list[dict]:
    """A Spark SQL query over the Parquet files (kept under `root`) as the view `events`: its rows as dicts."""
    spark = session()
    spark.read.parquet(*located(files, root)).createOrReplaceTempView(VIEW)
    return [{k: _plain(v) for k, v in row.asDict().items()} for row in spark.sql(query).collect()]
