"""Reproduction of a DuckDB 2.0.0 torn read (see README, Reliability). Run: python docs/duckdb_torn_read_repro.py [--sliced]"""

# Torn read in DuckDB 2.0: while one cursor commits an INSERT ... SELECT of >= 122,880 rows read from a
# table (or an Arrow object), other cursors of the same connection can see the new rows of that table
# but not a row inserted into another table by the same transaction.
import os
import sys
import threading

import duckdb

SLICED = "--sliced" in sys.argv  # the workaround: append in statements of 60,000 rows
path, N = "/tmp/torn-read.duckdb", 125_000
for p in (path, path + ".wal"):
    if os.path.exists(p):
        os.remove(p)
con = duckdb.connect(path)
con.execute("CREATE TABLE sources (source_id INTEGER PRIMARY KEY)")
con.execute("CREATE TABLE t (k INTEGER, source_id INTEGER, PRIMARY KEY (k, source_id))")
torn, stop = [], threading.Event()


def reader(expected):
    while not stop.is_set():
        cur = con.cursor()
        seen = cur.execute("SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM sources)").fetchall()[0]
        cur.close()
        if seen not in expected:
            torn.append(seen)


for r in range(8):
    expected = {(r * N, r), ((r + 1) * N, r + 1)}
    stop.clear()
    readers = [threading.Thread(target=reader, args=(expected,)) for _ in range(8)]
    for th in readers:
        th.start()
    w = con.cursor()
    w.execute("BEGIN")
    w.execute(f"CREATE TEMP TABLE staged AS SELECT range::INTEGER AS k FROM range({N})")
    w.execute(f"INSERT INTO sources VALUES ({r + 1})")
    if SLICED:
        for a in range(0, N, 60_000):
            w.execute(f"INSERT INTO t SELECT k, {r + 1} FROM staged WHERE k >= {a} AND k < {a + 60_000}")
    else:
        w.execute(f"INSERT INTO t SELECT k, {r + 1} FROM staged")
    w.execute("COMMIT")
    w.execute("DROP TABLE staged")
    w.close()
    stop.set()
    [th.join() for th in readers]
print(duckdb.__version__, "sliced" if SLICED else "one statement", "torn reads:", len(torn), torn[:3])
