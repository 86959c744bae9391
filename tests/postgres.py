"""A throw-away PostgreSQL server for tests: initdb in a temp folder, a free port on 127.0.0.1.

Uses the server binaries from Debian's postgresql package (`.ci/run` installs it). As root the
server runs as the ``postgres`` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def server_binaries() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempPostgres:
    def __init__(self):
        self.bin = server_binaries()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries not found (install Debian's postgresql package)")
        self.dir = Path(tempfile.mkdtemp(prefix="kaggletk-pg-"))
        self.port = _free_port()
        self.user_prefix: list[str] = []
        if os.geteuid() == 0:
            os.chmod(self.dir, 0o777)
            self.user_prefix = ["runuser", "-u", "postgres", "--"]
        self.data = self.dir / "data"
        self.url = f"postgresql://kaggletk:secret-pw@127.0.0.1:{self.port}/optuna"

    def _run(self, *argv: str) -> None:
        subprocess.run([*self.user_prefix, *argv], check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> TempPostgres:
        pwfile = self.dir / "pw"
        pwfile.write_text("secret-pw\n")
        os.chmod(pwfile, 0o644)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "kaggletk", "--pwfile", str(pwfile), "-A", "md5",
                  "--no-sync")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        env = dict(os.environ, PGPASSWORD="secret-pw")
        for _ in range(50):
            ready = subprocess.run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "kaggletk", "optuna"],
                                   capture_output=True, text=True, env=env)
            if ready.returncode == 0:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"createdb failed: {ready.stderr.strip()}")

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        except subprocess.SubprocessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
