"""A private Spark Thrift server for the tests and the benchmarks (shared/notes/spark.md).

``thrift_server()`` starts ``HiveThriftServer2`` from the installed ``pyspark`` package
(no Spark installation needed) in ``local[2]`` mode on a free loopback port, with its own
Derby metastore and warehouse in a temporary folder, waits until it answers a query,
yields ``hive://127.0.0.1:PORT/default`` and stops it. Nothing is skipped when Java or
pyspark is missing: the caller gets a RuntimeError naming what to install.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.provision import free_port

JAVA_HINT = "Java not found: install Debian's 'openjdk-17-jre-headless' (apt-get install openjdk-17-jre-headless)"
PYSPARK_HINT = "pyspark is not installed: pip install -r requirements-dev.txt"
SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"


def spark_home() -> Path | None:
    """The folder of the installed pyspark package (it ships bin/spark-submit and jars/)."""
    try:
        import pyspark
    except ImportError:
        return None
    return Path(pyspark.__file__).resolve().parent


def missing() -> list[str]:
    """One line per thing a Spark server needs and cannot provide by itself."""
    out = []
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        out.append(JAVA_HINT)
    if spark_home() is None:
        out.append(PYSPARK_HINT)
    return out


def _command(home: Path, port: int, base: Path, memory: str, cores: int,
             extra: dict[str, str] | None = None) -> list[str]:
    metastore, warehouse = base / "metastore", base / "warehouse"
    conf = {
        "spark.driver.memory": memory,
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.sql.warehouse.dir": str(warehouse),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
        # a few thousand rows per table: one shuffle partition per core, not 200
        "spark.sql.shuffle.partitions": str(cores * 2),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={metastore}",
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={metastore}/metastore_db;create=true",
        **(extra or {}),
    }
    argv = [str(home / "bin" / "spark-submit"), "--class", SERVER_CLASS, "--master", f"local[{cores}]"]
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    return argv + ["--hiveconf", f"hive.server2.thrift.port={port}",
                   "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1", "spark-internal"]


def _wait_until_answering(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Poll the port, then ``SELECT 1``, until the server answers (RuntimeError otherwise)."""
    from sqlalchemy import create_engine, text

    port = int(url.rsplit(":", 1)[1].split("/")[0])
    deadline = time.time() + timeout
    last_error = "the port never opened"
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Spark Thrift server exited with code {proc.returncode}:\n"
                               + log.read_text(errors="replace")[-3000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            engine = create_engine(url)
            try:
                with engine.connect() as conn:
                    if conn.execute(text("SELECT 1")).scalar() == 1:
                        return
            finally:
                engine.dispose()
        except Exception as exc:  # not up yet: refused, reset, or the session not ready
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.5)
    raise RuntimeError(f"the Spark Thrift server did not answer within {timeout:.0f} s ({last_error}):\n"
                       + log.read_text(errors="replace")[-3000:])


@contextlib.contextmanager
def thrift_server(memory: str = "1g", cores: int = 2, timeout: float = 180.0,
                  base: Path | None = None, port: int | None = None,
                  conf: dict[str, str] | None = None) -> Iterator[str]:
    """Start a Spark Thrift server on a free loopback port; yield its ``hive://`` URL; stop it.

    Metastore (embedded Derby), warehouse and log live in ``base`` (a fresh temporary
    folder by default, removed afterwards); ``conf`` adds Spark settings.
    """
    problems = missing()
    if problems:
        raise RuntimeError("; ".join(problems))
    home = spark_home()
    own_base = base is None
    base = Path(tempfile.mkdtemp(prefix="crm-spark-")) if base is None else base
    base.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = base / "server.log"
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(base), "SPARK_CONF_DIR": str(base / "conf")}
    env.pop("PYSPARK_PYTHON", None)
    url = f"hive://127.0.0.1:{port}/default"
    with open(log, "w") as out:
        # own process group: spark-submit's launcher and the JVM stop together
        proc = subprocess.Popen(_command(home, port, base, memory, cores, conf), cwd=base, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_answering(url, proc, log, timeout)
        yield url
    finally:
        _stop(proc)
        if own_base:
            shutil.rmtree(base, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
