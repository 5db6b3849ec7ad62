"""What the tests need from the machine: a throwaway PostgreSQL cluster and Chromium.

Used by the pytest fixtures, by ``make test``'s preflight check and by the benchmarks.
Nothing here is skipped when missing: callers fail with one line naming what to install.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

POSTGRES_HINT = "PostgreSQL server binaries not found: install Debian's 'postgresql' (apt-get install postgresql)"
CHROMIUM_HINT = "Chromium not found at /usr/bin/chromium: install Debian's 'chromium' (apt-get install chromium)"
POPPLER_HINT = "pdftotext not found: install Debian's 'poppler-utils' (apt-get install poppler-utils) for the PDF checks"


def postgres_bin() -> Path | None:
    """Folder holding initdb/pg_ctl: PG_BIN, PATH, then the newest /usr/lib/postgresql/*/bin."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found else None


def chromium_path() -> str | None:
    """The Chromium executable Playwright drives (CHROMIUM overrides /usr/bin/chromium)."""
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    return path if Path(path).exists() else shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(argv: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


#: base URL -> what pg_ctl needs to stop and start that cluster again (outage tests)
CONTROLS: dict[str, tuple] = {}


def stop_cluster(base_url: str) -> None:
    """Stop a cluster started by :func:`postgres_cluster` (fast shutdown: sessions are cut)."""
    bin_dir, data, _log, _options, user = CONTROLS[base_url]
    subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], user),
                   check=True, capture_output=True)


def start_cluster(base_url: str) -> None:
    """Start again a cluster stopped by :func:`stop_cluster`."""
    bin_dir, data, log, options, user = CONTROLS[base_url]
    subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                                    "-w", "-t", "60", "start"], user), check=True, capture_output=True)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a private PostgreSQL cluster on a free loopback port; yield its base URL.

    PostgreSQL refuses to run as root, so under root the cluster runs as the
    ``postgres`` system user that Debian's package creates. Trust authentication,
    loopback only, removed afterwards.
    """
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError(POSTGRES_HINT)
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres").pw_name
        except KeyError:
            raise RuntimeError("running as root and no 'postgres' user to run the server as") from None
    base = Path(tempfile.mkdtemp(prefix="crm-pg-"))
    data = base / "data"
    data.mkdir()
    if user:
        os.chmod(base, 0o755)
        entry = pwd.getpwnam(user)
        os.chown(data, entry.pw_uid, entry.pw_gid)
    port = free_port()
    log = base / "server.log"
    try:
        subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                                        "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"], user),
                       check=True, capture_output=True)
        log.touch()
        if user:
            os.chown(log, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
        options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={data} -c fsync=off"
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log),
                                        "-o", options, "-w", "-t", "60", "start"], user),
                       check=True, capture_output=True)
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
        CONTROLS[url] = (bin_dir, data, log, options, user)
        yield url
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace").strip()
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"could not start PostgreSQL: {detail}\n{tail}") from exc
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                            "-w", "stop"], user), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def create_database(base_url: str, name: str) -> str:
    """Create an empty database on the cluster; its URL."""
    import psycopg

    dsn = base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"


def wait_for_http(url: str, timeout: float = 60.0) -> None:
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url, timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def missing() -> list[str]:
    """One line per thing the test suite needs and cannot provide by itself."""
    out = []
    if postgres_bin() is None:
        out.append(POSTGRES_HINT)
    if chromium_path() is None:
        out.append(CHROMIUM_HINT)
    if shutil.which("pdftotext") is None:
        out.append(POPPLER_HINT)
    if shutil.which("runuser") is None and os.geteuid() == 0:
        out.append("runuser not found (util-linux): needed to run PostgreSQL as a non-root user")
    from tests import spark  # Java and pyspark for the Spark Thrift server

    out.extend(spark.missing())
    return out


if __name__ == "__main__":  # make test's preflight
    import sys

    problems = missing()
    for line in problems:
        print(f"make test: {line}", file=sys.stderr)
    sys.exit(1 if problems else 0)
