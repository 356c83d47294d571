"""Requests per second through the shipped nginx site (TLS) with 1, 2 and 4 web workers.

A throwaway PostgreSQL database and data folder get the demo data (`svp serve --demo`, 157
entries with their packaged vectors, tickets), an admin account and a read API token. For each
worker count, `svp serve --workers N --no-bot` runs behind a real nginx serving the shipped
`deploy/nginx/svp.conf` (placeholders filled, listeners moved to free ports of 127.0.0.1, a
self-signed certificate), and `wrk` loads three targets over HTTPS: the queue page and an
entry page (logged-in session cookie) and the search API (bearer token; the query is embedded
by the model on each call). A single response other than 2xx, or a socket error, stops the run.

Besides the table, the CPU time each part used during a measurement (the svp workers, nginx,
the PostgreSQL backends of the database, wrk, and the rest of the machine) is shown in cores.

    python bench/production_throughput.py [--workers 1,2,4] [--duration 15] [--connections 8]
                                          [--threads 2] [--quick] [--server-url ...]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import benchlib
import httpx
from markupsafe import escape
from sqlalchemy import create_engine, make_url, text

REPO = benchlib.ROOT
SITE = REPO / "deploy" / "nginx" / "svp.conf"
STATIC_DIR = REPO / "admin" / "static"
SVP = Path(sys.executable).parent / "svp"
SERVER_NAME = "svp.test"
START_SECONDS = 120
ADMIN_LOGIN = "banc"
QUESTION = "Le propriétaire peut-il garder le dépôt de garantie à la fin du bail ?"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# wrk's Lua hooks: every thread counts its non-2xx responses; `done` adds them up and prints
# one line that `run_wrk` parses (latencies are in microseconds).
WRK_SCRIPT = """\
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d p50_us=%d p95_us=%d non2xx=%d "
    .. "connect=%d read=%d write=%d timeout=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    bad, e.connect, e.read, e.write, e.timeout))
end
"""


class BenchError(RuntimeError):
    """Something the benchmark cannot go on with: a tool missing, a process down, a bad page."""


# --- processes and ports --------------------------------------------------------------------


def tool(name: str) -> str:
    """The path of a system tool the benchmark needs (Debian packages nginx, wrk, openssl)."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists()
                                  else None)
    if path is None:
        raise BenchError(f"{name} est absent : installez le paquet Debian (apt-get install {name})")
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any SVP_* variable, plus the given ones."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SVP_")}
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.update(settings)
    return env


@contextmanager
def running(command: list[str], *, env: dict[str, str] | None, cwd: Path,
            log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run a command, its output in `log`, until the block ends (terminate, then kill)."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=output,
                                   stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path,
                 verify: str | bool = True) -> None:
    """Wait until `url` answers 200, failing if the process stops or takes too long."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"process stopped:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url, timeout=5, verify=verify).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise BenchError(f"{url} does not answer:\n{log.read_text(errors='replace')}")


def svp(env: dict[str, str], cwd: Path, *args: str, stdin: str | None = None) -> str:
    """Run one `svp` command; return its standard output."""
    result = subprocess.run([str(SVP), *args], env=env, cwd=cwd, input=stdin,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise BenchError(f"svp {' '.join(args)}: {result.stderr}")
    return result.stdout


# --- PostgreSQL -----------------------------------------------------------------------------


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A new empty database on the server, dropped when the block ends, even on failure."""
    base = make_url(server_url)
    name = f"svp_bench_{secrets.token_hex(5)}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def first_active_entry(database_url: str) -> tuple[int, str]:
    """The id and question of the first active entry."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(text(
                "SELECT id, question FROM entries WHERE status = 'active' ORDER BY id LIMIT 1"
            )).one()
        return int(row[0]), str(row[1])
    finally:
        engine.dispose()


def postgres_version(database_url: str) -> str:
    """The server's version string."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


# --- nginx (as tests/deploy/deploy_helpers.py renders it) -----------------------------------


@dataclass(frozen=True)
class NginxSite:
    """A rendered site in a private nginx prefix, on free ports of 127.0.0.1."""

    prefix: Path
    conf: Path
    https_port: int
    cert: Path


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for SERVER_NAME and 127.0.0.1; return (cert, key)."""
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run([tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                    "2", "-subj", f"/CN={SERVER_NAME}", "-addext",
                    f"subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def render_site(prefix: Path, *, upstream: str) -> NginxSite:
    """Fill the shipped site's placeholders and move its listeners to free local ports."""
    prefix.mkdir(parents=True, exist_ok=True)
    cert, key = make_certificate(prefix)
    http_port, https_port = free_port(), free_port()
    filled = {"__SVP_SERVER_NAME__": SERVER_NAME, "__SVP_TLS_CERT__": str(cert),
              "__SVP_TLS_KEY__": str(key), "__SVP_STATIC_DIR__": str(STATIC_DIR),
              "__SVP_UPSTREAM__": upstream}
    site = SITE.read_text(encoding="utf-8")
    for placeholder, value in filled.items():
        if placeholder not in site:
            raise BenchError(f"{placeholder} missing from the shipped site")
        site = site.replace(placeholder, value)
    listeners = {"    listen 80;\n": f"    listen 127.0.0.1:{http_port};\n",
                 "    listen [::]:80;\n": "",
                 "    listen 443 ssl;\n": f"    listen 127.0.0.1:{https_port} ssl;\n",
                 "    listen [::]:443 ssl;\n": ""}
    for old, new in listeners.items():
        if site.count(old) != 1:
            raise BenchError(f"{old.strip()!r} not once in the shipped site")
        site = site.replace(old, new)
    (prefix / "sites-enabled").mkdir(exist_ok=True)
    (prefix / "sites-enabled" / "svp.conf").write_text(site, encoding="utf-8")
    conf = prefix / "nginx.conf"
    conf.write_text(minimal_nginx_conf(prefix), encoding="utf-8")
    return NginxSite(prefix=prefix, conf=conf, https_port=https_port, cert=cert)


def minimal_nginx_conf(prefix: Path) -> str:
    """An nginx.conf like Debian's (auto workers, 768 connections), all files in `prefix`."""
    # As root, workers would run as `nobody`, who cannot enter the private temp folder.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "".join(f"    {kind}_temp_path {prefix}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}worker_processes auto;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log;\nevents {{ worker_connections 768; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n"
            f"    default_type application/octet-stream;\n"
            f"    access_log {prefix}/access.log;\n{temp}"
            f"    include {prefix}/sites-enabled/*.conf;\n}}\n")


def nginx_command(site: NginxSite) -> list[str]:
    """nginx in the foreground on the rendered site."""
    return [tool("nginx"), "-p", str(site.prefix), "-e", str(site.prefix / "error.log"),
            "-c", str(site.conf), "-g", "daemon off;"]


# --- CPU accounting -------------------------------------------------------------------------


def _processes() -> dict[int, tuple[int, int]]:
    """Every process: pid → (parent pid, user + system clock ticks)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name (field 2) may hold spaces: split after its closing parenthesis.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return found


def _tree(processes: dict[int, tuple[int, int]], root: int) -> set[int]:
    members, grown = {root}, True
    while grown:
        more = {pid for pid, (parent, _) in processes.items()
                if parent in members and pid not in members}
        members |= more
        grown = bool(more)
    return members & processes.keys()


def _backends(database: str) -> set[int]:
    """The PostgreSQL backends serving `database` (their title names it)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                pids.add(int(entry.name))
    return pids


def _machine_busy_ticks() -> int:
    # user nice system idle iowait irq softirq steal: steal is the hypervisor's, not ours.
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return user + nice + system + irq + softirq


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU ticks used so far by each part of the stack, and by the whole machine."""

    at: float
    parts: dict[str, dict[int, int]]
    machine: int
    wrk: float

    @classmethod
    def take(cls, *, svp_pid: int, nginx_pid: int, database: str) -> CpuSnapshot:
        """Read /proc now."""
        processes = _processes()
        groups = {"svp": _tree(processes, svp_pid), "nginx": _tree(processes, nginx_pid),
                  "postgres": _backends(database) & processes.keys()}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(at=time.monotonic(),
                   parts={name: {pid: processes[pid][1] for pid in pids}
                          for name, pids in groups.items()},
                   machine=_machine_busy_ticks(), wrk=children.ru_utime + children.ru_stime)

    def cores_until(self, later: CpuSnapshot) -> dict[str, float]:
        """Cores busy on average between two snapshots, by part (`other`: the rest)."""
        seconds = later.at - self.at
        used = {name: sum(ticks - self.parts[name].get(pid, 0)
                          for pid, ticks in later.parts[name].items()) / CLOCK_TICKS
                for name in later.parts}
        used["wrk"] = later.wrk - self.wrk  # wrk is the only child reaped in between
        machine = (later.machine - self.machine) / CLOCK_TICKS
        used["other"] = max(machine - sum(used.values()), 0.0)
        return {name: value / seconds for name, value in used.items()}


# --- wrk ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One URL under load, the headers it needs and a check of one response's content."""

    label: str
    path: str
    headers: dict[str, str]
    expected: str


@dataclass(frozen=True)
class Measure:
    """What one wrk run reports."""

    requests: int
    per_second: float
    p50_ms: float
    p95_ms: float


def run_wrk(url: str, target: Target, *, seconds: int, connections: int, threads: int,
            script: Path) -> Measure:
    """Load `url` with wrk; fail on any non-2xx response or socket error.

    wrk leaves a response slower than its timeout (2 s by default) out of the latencies and
    counts it as an error: 30 s keeps slow searches of a loaded machine in the figures.
    """
    command = [tool("wrk"), f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
               "--timeout", "30s", "--latency", "-s", str(script)]
    for name, value in target.headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run([*command, url], capture_output=True, text=True,
                            timeout=seconds + 60)
    line = next((row for row in result.stdout.splitlines() if row.startswith("WRK ")), None)
    if result.returncode != 0 or line is None:
        raise BenchError(f"wrk failed on {target.label}:\n{result.stdout}\n{result.stderr}")
    values = {key: int(value) for key, value in
              (pair.split("=") for pair in line.split()[1:])}
    errors = {key: values[key] for key in ("non2xx", "connect", "read", "write", "timeout")
              if values[key]}
    if errors or not values["requests"]:
        raise BenchError(f"{target.label}: {values['requests']} requests, errors {errors} — "
                         f"a benchmark of error pages is worthless\n{result.stdout}")
    return Measure(requests=values["requests"],
                   per_second=values["requests"] / (values["duration_us"] / 1e6),
                   p50_ms=values["p50_us"] / 1000, p95_ms=values["p95_us"] / 1000)


# --- the stack ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """The filled database and what the measures need from it."""

    env: dict[str, str]
    folder: Path
    password: str
    token: str
    entry_id: int
    entry_question: str


def prepare(database_url: str, folder: Path) -> Prepared:
    """`svp init`, the demo data, an admin account and a read API token."""
    data_dir = folder / "var"
    data_dir.mkdir()
    env = clean_environment(SVP_DATABASE_URL=database_url, SVP_DATA_DIR=str(data_dir),
                            SVP_TRUSTED_PROXIES="127.0.0.1", SVP_SECURE_COOKIES="true",
                            SVP_API_RATE_PER_MINUTE="100000")
    svp(env, folder, "init")
    port = free_port()
    log = folder / "demo.log"
    with running([str(SVP), "serve", "--demo", "--no-bot", "--host", "127.0.0.1", "--port",
                  str(port)], env=env, cwd=folder, log=log) as process:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", process, log)
    if "Démonstration créée" not in log.read_text(errors="replace"):
        raise BenchError(f"no demo data:\n{log.read_text(errors='replace')}")
    password = f"Banc-Débit-Nginx-{secrets.token_urlsafe(12)}"
    svp(env, folder, "user", "add", ADMIN_LOGIN, "--role", "admin", "--password-stdin",
        stdin=password + "\n")
    token = svp(env, folder, "api", "token", "create", "bench", "--user",
                ADMIN_LOGIN).strip().splitlines()[-1]
    entry_id, question = first_active_entry(database_url)
    return Prepared(env=env, folder=folder, password=password, token=token,
                    entry_id=entry_id, entry_question=question)


def login(base: str, password: str, cert: Path) -> str:
    """Log in through nginx; return the Cookie header of the session."""
    with httpx.Client(base_url=base, verify=str(cert), timeout=30) as client:
        page = client.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if page.status_code != 200 or found is None:
            raise BenchError(f"no login form: {page.status_code}")
        answer = client.post("/login", data={"login": ADMIN_LOGIN, "password": password,
                                             "csrf_token": found.group(1)})
        if answer.status_code != 303:
            raise BenchError(f"login refused: {answer.status_code}")
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.cookies.jar)


def check_targets(base: str, targets: list[Target], cert: Path) -> None:
    """One request of each target answers 200 with the expected content."""
    with httpx.Client(base_url=base, verify=str(cert), timeout=60) as client:
        for target in targets:
            response = client.get(target.path, headers=target.headers)
            if response.status_code != 200 or target.expected not in response.text:
                raise BenchError(f"{target.label}: {response.status_code}, "
                                 f"{target.expected!r} not in the page")


def measure_workers(prepared: Prepared, workers: int, args: argparse.Namespace,
                    script: Path, database: str,
                    ) -> list[tuple[Target, Measure, dict[str, float]]]:
    """Start N workers behind nginx, log in, check then load each target."""
    port = free_port()
    folder = prepared.folder / f"workers-{workers}"
    folder.mkdir()
    site = render_site(folder / "nginx", upstream=f"127.0.0.1:{port}")
    base = f"https://127.0.0.1:{site.https_port}"
    results = []
    with ExitStack() as stack:
        web_log = folder / "serve.log"
        web = stack.enter_context(running(
            [str(SVP), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
             str(workers), "--no-bot"], env=prepared.env, cwd=prepared.folder, log=web_log))
        nginx_log = folder / "nginx.out"
        nginx = stack.enter_context(running(nginx_command(site), env=None, cwd=folder,
                                            log=nginx_log))
        wait_healthy(f"{base}/healthz", web, web_log, verify=str(site.cert))
        if nginx.poll() is not None:
            raise BenchError(f"nginx stopped:\n{nginx_log.read_text(errors='replace')}")
        cookie = {"Cookie": login(base, prepared.password, site.cert)}
        query = urllib.parse.quote(QUESTION)
        targets = [
            Target("file d'attente `GET /queue`", "/queue", cookie, "question(s)"),
            Target(f"fiche `GET /kb/{prepared.entry_id}`", f"/kb/{prepared.entry_id}", cookie,
                   str(escape(prepared.entry_question))),
            Target("API `GET /api/v1/search?q=…&k=5`", f"/api/v1/search?q={query}&k=5",
                   {"Authorization": f"Bearer {prepared.token}"}, '"hits":[{'),
        ]
        check_targets(base, targets, site.cert)
        for target in targets:
            url = base + target.path
            run_wrk(url, target, seconds=args.warmup, connections=args.connections,
                    threads=args.threads, script=script)
            before = CpuSnapshot.take(svp_pid=web.pid, nginx_pid=nginx.pid, database=database)
            measure = run_wrk(url, target, seconds=args.duration,
                              connections=args.connections, threads=args.threads,
                              script=script)
            after = CpuSnapshot.take(svp_pid=web.pid, nginx_pid=nginx.pid, database=database)
            results.append((target, measure, before.cores_until(after)))
            print(f"  {workers} worker(s), {target.label}: {measure.per_second:.1f} req/s "
                  f"({measure.requests} requests)", file=sys.stderr)
    return results


# --- machine --------------------------------------------------------------------------------


def machine(database_url: str) -> dict[str, str]:
    """CPU model, cores, memory, load, PostgreSQL, nginx and wrk versions."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.MULTILINE)
    nginx = subprocess.run([tool("nginx"), "-v"], capture_output=True, text=True).stderr
    wrk = subprocess.run([tool("wrk"), "-v"], capture_output=True, text=True).stdout
    return {
        "cpu": found.group(1).strip() if found else "?",
        "cores": str(os.cpu_count()),
        "memory": f"{int(memory.group(1)) / 1024 / 1024:.1f} GiB" if memory else "?",
        "load average (1 min)": f"{os.getloadavg()[0]:.2f}",
        "postgresql": postgres_version(database_url),
        "nginx": nginx.strip().removeprefix("nginx version: "),
        "wrk": wrk.split("[", 1)[0].strip().removeprefix("wrk "),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--duration", type=int, default=15, help="seconds of each measure")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=8, help="wrk's open connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--quick", action="store_true", help="2 s measures, 1 s warm-ups")
    parser.add_argument("--server-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/"
                        "postgres", help="a PostgreSQL server where databases may be created")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup = 2, 1
    counts = [int(value) for value in args.workers.split(",")]

    rows, cpu_rows = [], []
    with tempfile.TemporaryDirectory(prefix="svp-bench-") as folder, \
            throwaway_database(args.server_url) as database_url:
        facts = machine(database_url)
        print("Machine: " + "; ".join(f"{key} {value}" for key, value in facts.items()))
        print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s after a "
              f"{args.warmup} s warm-up, HTTPS through nginx, PostgreSQL")
        script = Path(folder) / "report.lua"
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        prepared = prepare(database_url, Path(folder))
        database = str(make_url(database_url).database)
        for workers in counts:
            for target, measure, cores in measure_workers(prepared, workers, args, script,
                                                          database):
                rows.append([str(workers), target.label, f"{measure.per_second:.1f}",
                             f"{measure.p50_ms:.1f}", f"{measure.p95_ms:.1f}"])
                cpu_rows.append([str(workers), target.label,
                                 *(f"{cores[name]:.2f}" for name in
                                   ("svp", "nginx", "postgres", "wrk", "other"))])
    benchlib.print_table(["workers", "target", "requests/s", "p50 (ms)", "p95 (ms)"], rows)
    print()
    print("CPU during each measure, in cores busy on average "
          f"(the machine has {facts['cores']}):")
    benchlib.print_table(["workers", "target", "svp", "nginx", "PostgreSQL", "wrk",
                          "other (processes, interrupts)"], cpu_rows)


if __name__ == "__main__":
    main()
