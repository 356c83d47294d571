"""Email channel: emails per second taken in and answered with suggestions, and receipt delay.

Real servers on 127.0.0.1, as in `tests/mail/test_mail_channel.py`: Debian's Dovecot (IMAPS,
IDLE; `tests/imap_server.py`) and an aiosmtpd SMTP server (`tests/mail_server.py`) that notes
when each message arrives. A migrated database (a temporary SQLite file, or a throwaway
database on the PostgreSQL server of `--database-url`) gets the demo knowledge base
(`../shared/data/service-public-logement-qr.jsonl`, its e5-small-int4 vectors) and 20
approved email askers; `svp mail` runs as its own process (this checkout's code) and reads the
mailbox with IDLE. After a first email answered (the model loaded), for each interval of the
mail worker (`SVP_MAIL_INTERVAL_SECONDS`; the product's default is 5 s):

- throughput: N questions APPENDed over one IMAP connection as fast as the server takes them;
  the clock runs from the first APPEND until the last receipt has reached the SMTP server;
  from the database, the rate at which mail was stored (`mail_inbox.received_at`) and tickets
  created (`tickets.created_at`), and the share of receipts offering at least one suggestion;
- latency: M questions one at a time (each waits for the previous receipt, then a random
  pause of up to one mail interval, so that mail arrives at any moment of the worker's
  cycle), from the moment the APPEND returned (the server has the message) to the receipt's
  arrival at the SMTP server, split with the database's timestamps: stored by the reader,
  ticket written by the processor, receipt at the SMTP server.

The questions are real staff questions of `tests/data/svp-devset.jsonl` and `devset.jsonl`,
written as an email (subject: their first words; « Bonjour, », the question, a sign-off and
a signature). The CPU time of the `svp mail` process, the cores busy on the whole machine
(/proc/stat) and the load average are shown too: the machine has 2 cores and is shared.

    python bench/mail_channel.py [--emails 200] [--latency 50] [--entries 157]
                                 [--mail-intervals 5,0.2]
                                 [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import benchlib
from production_throughput import clean_environment, throwaway_database

sys.path.insert(0, str(benchlib.ROOT / "tests"))  # the servers of the tests

from imap_server import ImapServer, imap_server
from mail_server import Mailbox, body_of, smtp_server

MAILBOX = "svp@svp.example"
PASSWORD = "motdepasse"
ASKERS = [f"agent{number}@habitat-banc.fr" for number in range(20)]
QUERY_SETS = ("svp-devset.jsonl", "devset.jsonl")
SUGGESTED = "Ces réponses déjà données par le SVP peuvent vous aider"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_SECONDS = 300


class TimedMailbox(Mailbox):
    """The tests' SMTP mailbox, noting when each message arrived (by its In-Reply-To)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrivals: dict[str, float] = {}
        self.suggested: dict[str, bool] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        arrived = time.time()
        answer = await super().handle_DATA(server, session, envelope)
        with self.received:  # one event loop: the message appended is this one
            message = self.messages[-1]
            key = str(message["In-Reply-To"])
            self.arrivals.setdefault(key, arrived)
            self.suggested.setdefault(key, SUGGESTED in body_of(message))
            self.received.notify_all()
        return answer

    def wait_keys(self, keys: list[str], timeout: float) -> None:
        """Wait until a receipt answered each of the Message-IDs."""
        with self.received:
            if not self.received.wait_for(lambda: all(key in self.arrivals for key in keys),
                                          timeout=timeout):
                missing = sum(key not in self.arrivals for key in keys)
                raise SystemExit(f"{missing} receipts of {len(keys)} missing after {timeout} s")


def questions() -> list[str]:
    """Real staff questions of the labelled sets, in file order."""
    found = []
    for name in QUERY_SETS:
        with (benchlib.ROOT / "tests" / "data" / name).open(encoding="utf-8") as lines:
            found += [json.loads(line)["q"] for line in lines if line.strip()]
    return found


def email_of(number: int, question: str) -> EmailMessage:
    """A question as an asker writes it by email."""
    words = question.split()
    message = EmailMessage()
    message["From"] = ASKERS[number % len(ASKERS)]
    message["To"] = MAILBOX
    message["Subject"] = " ".join(words[:6]) + (" …" if len(words) > 6 else "")
    message["Message-ID"] = make_msgid(domain="habitat-banc.fr")
    message.set_content(f"Bonjour,\n\n{question}\n\nMerci d'avance.\n\n-- \n"
                        f"Agent {number % len(ASKERS)}, Habitat Banc d'essai\n")
    return message


def knowledge_file(folder: Path, entries: int | None) -> Path:
    """The demo base (its first `entries`, or copies made distinct beyond 157)."""
    with benchlib.DEMO_DATA.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    count = entries or len(records)
    path = folder / "kb.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            record, copy = records[number % len(records)], number // len(records)
            if copy:
                record = {**record, "id": f"{record['id']}-{copy}",
                          "question": f"{record['question']} ({copy})"}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def prepare(url: str, folder: Path, entries: int | None) -> Any:
    """Migrate, load the knowledge base with the default embedder, add the email askers."""
    from index.precomputed import with_precomputed
    from knowledge.catalog import importing
    from knowledge.people import organisations
    from knowledge.store import migrate
    from knowledge.store.models import Asker, AskerStatus, OrganisationKind
    from knowledge.timeutil import utcnow
    from svp.demo import PACKAGED_VECTORS
    from svp.runtime import build_knowledge
    from svp.settings import Settings

    knowledge = build_knowledge(Settings(database_url=url, data_dir=folder))
    migrate.upgrade(knowledge.engine)
    # The packaged vectors are e5-small-int4's for exactly these texts; copies are embedded.
    with knowledge.session() as session:
        report = importing.import_file(session=session, path=knowledge_file(folder, entries),
                                       actor="bench", embedder=with_precomputed(
                                           knowledge.embedder, PACKAGED_VECTORS))
    knowledge.sync_index()
    with knowledge.session() as session:
        org = organisations.create(session=session, name="Habitat Banc d'essai", actor="bench",
                                   kind=OrganisationKind.OPH, departement="13")
        for address in ASKERS:
            session.add(Asker(email=address, organisation_id=org.id, created_at=utcnow(),
                              status=AskerStatus.APPROVED.value, full_name=address))
    print(f"knowledge base: {report.created} entries", file=sys.stderr)
    return knowledge


def mail_env(url: str, folder: Path, imap: ImapServer, smtp_port: int,
             interval: float) -> dict[str, str]:
    """The environment of `svp mail`, as the end-to-end test gives it."""
    return clean_environment(
        PYTHONPATH=str(benchlib.ROOT), SVP_DATABASE_URL=url, SVP_DATA_DIR=str(folder),
        SVP_ADMIN_BASE_URL="https://svp.example",
        SVP_MAIL_SMTP_HOST="127.0.0.1", SVP_MAIL_SMTP_PORT=str(smtp_port),
        SVP_MAIL_SMTP_SECURITY="none", SVP_MAIL_FROM=f"SVP <{MAILBOX}>",
        SVP_MAIL_INTERVAL_SECONDS=str(interval),
        SVP_MAIL_IMAP_HOST=imap.host, SVP_MAIL_IMAP_PORT=str(imap.port),
        SVP_MAIL_IMAP_USER=MAILBOX, SVP_MAIL_IMAP_PASSWORD=PASSWORD,
        SVP_MAIL_IMAP_CAFILE=str(imap.cafile), SVP_MAIL_IMAP_POLL_SECONDS="1",
        SVP_RATE_LIMIT_PER_MINUTE="100000", SVP_RATE_LIMIT_PER_DAY="100000")


@contextmanager
def svp_mail(env: dict[str, str], folder: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`svp mail` of this checkout as a child process, stopped (SIGTERM) when the block ends."""
    with log.open("ab") as output:
        process = subprocess.Popen([sys.executable, "-m", "svp", "mail"], env=env, cwd=folder,
                                   stdout=subprocess.DEVNULL, stderr=output)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy so far (all cores, /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


@dataclass(frozen=True)
class Usage:
    """What the machine did during a phase: svp mail's CPU, everyone's, the load average."""

    svp_cpu: float  # CPU seconds of the svp mail process
    busy_cores: float  # mean cores busy on the whole machine (svp mail, Dovecot, this script…)
    load: tuple[float, float]  # 1 min load average at the start and at the end


class Meter:
    """Measures a phase's use of the machine."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.load = os.getloadavg()[0]
        self.cpu, self.busy, self.started = cpu_seconds(pid), machine_busy(), time.time()

    def done(self) -> Usage:
        return Usage(svp_cpu=cpu_seconds(self.pid) - self.cpu,
                     busy_cores=(machine_busy() - self.busy) / (time.time() - self.started),
                     load=(self.load, os.getloadavg()[0]))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class Appender:
    """One logged-in IMAPS connection that APPENDs to the mailbox and times each APPEND."""

    def __init__(self, imap: ImapServer) -> None:
        self.client = imap.client(MAILBOX)

    def append(self, message: EmailMessage) -> float:
        """APPEND one message; the moment the server said OK (it has the message)."""
        status, data = self.client.append("INBOX", "", None, bytes(message))
        done = time.time()
        if status != "OK":
            raise SystemExit(f"APPEND refused: {data}")
        return done

    def close(self) -> None:
        self.client.logout()


@dataclass(frozen=True)
class Stamps:
    """Database timestamps of one email (epoch seconds; None where missing)."""

    stored: float | None  # mail_inbox.received_at
    ticket: float | None  # tickets.created_at


def stamps(knowledge: Any, message_ids: list[str]) -> dict[str, Stamps]:
    """What the database says of each email, by its Message-ID."""
    from sqlalchemy import select

    from knowledge.store.mail_models import MailInboxMessage
    from knowledge.store.models import Ticket

    found: dict[str, Stamps] = {}
    with knowledge.reading() as session:
        for start in range(0, len(message_ids), 200):
            chunk = message_ids[start:start + 200]
            stored = {row.message_id: row for row in session.scalars(
                select(MailInboxMessage).where(MailInboxMessage.message_id.in_(chunk)))}
            asked = {row.email_message_id: row for row in session.scalars(
                select(Ticket).where(Ticket.email_message_id.in_(chunk)))}
            for key in chunk:
                inbox, ticket = stored.get(key), asked.get(key)
                found[key] = Stamps(
                    stored=inbox.received_at.timestamp() if inbox else None,
                    ticket=ticket.created_at.timestamp() if ticket else None)
    return found


def rate(times: list[float]) -> float:
    """Events per second over the span from the first to the last (n - 1 intervals)."""
    return (len(times) - 1) / (max(times) - min(times)) if len(times) > 1 else float("nan")


@dataclass(frozen=True)
class Throughput:
    interval: float
    emails: int
    append_seconds: float
    seconds: float
    stored_rate: float
    ticket_rate: float
    receipt_rate: float
    suggested: float
    usage: Usage


@dataclass(frozen=True)
class Latency:
    interval: float
    total: list[float]
    to_stored: list[float]
    to_ticket: list[float]
    to_smtp: list[float]
    suggested: float
    usage: Usage


def measure_throughput(*, knowledge: Any, appender: Appender, box: TimedMailbox,
                       process: subprocess.Popen[bytes], mails: list[EmailMessage],
                       interval: float) -> Throughput:
    """APPEND every email at once, wait for every receipt."""
    keys = [str(message["Message-ID"]) for message in mails]
    meter = Meter(process.pid)
    started = time.time()
    for message in mails:
        appender.append(message)
    appended = time.time()
    box.wait_keys(keys, timeout=1800)
    last = max(box.arrivals[key] for key in keys)
    usage = meter.done()
    found = stamps(knowledge, keys)
    return Throughput(
        interval=interval, emails=len(keys), append_seconds=appended - started,
        seconds=last - started,
        stored_rate=rate([stamp for key in keys if (stamp := found[key].stored) is not None]),
        ticket_rate=rate([stamp for key in keys if (stamp := found[key].ticket) is not None]),
        receipt_rate=rate([box.arrivals[key] for key in keys]),
        suggested=sum(box.suggested[key] for key in keys) / len(keys), usage=usage)


def measure_latency(*, knowledge: Any, appender: Appender, box: TimedMailbox,
                    process: subprocess.Popen[bytes], mails: list[EmailMessage],
                    interval: float) -> Latency:
    """One email at a time: APPEND, wait for its receipt, then the next.

    Before each email, a random pause of up to one mail interval: otherwise each email would
    be appended just after the worker's pass that sent the previous receipt, and would always
    wait nearly a whole interval, where mail arriving at any moment waits half of one.
    """
    keys, appended = [], {}
    pauses = random.Random(24)
    meter = Meter(process.pid)
    for message in mails:
        time.sleep(pauses.uniform(0, interval))
        key = str(message["Message-ID"])
        keys.append(key)
        appended[key] = appender.append(message)
        box.wait_keys([key], timeout=600)
    usage = meter.done()
    found = stamps(knowledge, keys)
    complete = [key for key in keys if found[key].stored and found[key].ticket]
    return Latency(
        interval=interval, total=[box.arrivals[key] - appended[key] for key in keys],
        to_stored=[found[key].stored - appended[key] for key in complete],  # type: ignore[operator]
        to_ticket=[found[key].ticket - found[key].stored for key in complete],  # type: ignore[operator]
        to_smtp=[box.arrivals[key] - found[key].ticket for key in complete],  # type: ignore[operator]
        suggested=sum(box.suggested[key] for key in keys) / len(keys), usage=usage)


def run(url: str, folder: Path, args: argparse.Namespace
        ) -> tuple[list[Throughput], list[Latency], list[str]]:
    """Prepare the database, start the servers, and measure for each mail interval."""
    texts = questions()
    knowledge = prepare(url, folder, args.entries)
    throughputs, latencies, problems = [], [], []
    counter = iter(range(10**9))

    def next_mails(count: int) -> list[EmailMessage]:
        return [email_of(number, texts[number % len(texts)])
                for number in (next(counter) for _ in range(count))]

    try:
        with imap_server(folder, users={MAILBOX: PASSWORD}) as imap, \
                smtp_server(TimedMailbox()) as (smtp_port, box):
            assert isinstance(box, TimedMailbox)
            for interval in args.mail_intervals:
                log = folder / f"mail-{interval}.err"
                env = mail_env(url, folder, imap, smtp_port, interval)
                with svp_mail(env, folder, log) as process, ExitStack() as stack:
                    appender = Appender(imap)
                    stack.callback(appender.close)
                    started = time.monotonic()
                    warm_up = next_mails(1)
                    appender.append(warm_up[0])
                    box.wait_keys([str(warm_up[0]["Message-ID"])], timeout=START_SECONDS)
                    print(f"interval {interval} s: first receipt after "
                          f"{time.monotonic() - started:.1f} s", file=sys.stderr)
                    throughputs.append(measure_throughput(
                        knowledge=knowledge, appender=appender, box=box, process=process,
                        mails=next_mails(args.emails), interval=interval))
                    time.sleep(2 * interval + 1)  # the worker idle again
                    latencies.append(measure_latency(
                        knowledge=knowledge, appender=appender, box=box, process=process,
                        mails=next_mails(args.latency), interval=interval))
                said = log.read_text(errors="replace")
                if "Traceback" in said or re.search(r"\bERROR\b", said):
                    problems.append(f"interval {interval} s, svp mail log:\n{said[-3000:]}")
    finally:
        knowledge.close()
    return throughputs, latencies, problems


def fmt(value: float, digits: int = 1) -> str:
    """A number with French decimals."""
    return f"{value:.{digits}f}".replace(".", ",")


def percent(share: float) -> str:
    """A share as a French percentage."""
    return f"{share * 100:.0f} %"


def print_results(label: str, throughputs: list[Throughput], latencies: list[Latency]) -> None:
    """The two tables of one database."""
    print(f"\n### {label} : débit (courriels déposés d'un coup)\n")
    benchlib.print_table(
        ["intervalle d'envoi (s)", "courriels", "APPEND (s)", "durée jusqu'au dernier accusé (s)",
         "courriels/s de bout en bout", "enregistrés/s (mail_inbox)", "tickets/s",
         "accusés/s (SMTP)", "accusés avec suggestion", "CPU svp mail par courriel (ms)",
         "cœurs occupés (machine)", "charge 1 min (début → fin)"],
        [[fmt(t.interval), t.emails, fmt(t.append_seconds, 2), fmt(t.seconds, 2),
          fmt(t.emails / t.seconds), fmt(t.stored_rate), fmt(t.ticket_rate),
          fmt(t.receipt_rate), percent(t.suggested), fmt(t.usage.svp_cpu * 1000 / t.emails, 0),
          fmt(t.usage.busy_cores, 2),
          f"{fmt(t.usage.load[0], 2)} → {fmt(t.usage.load[1], 2)}"] for t in throughputs])
    print(f"\n### {label} : délai de l'accusé (un courriel à la fois)\n")
    rows = []
    for lat in latencies:
        for part, values in (("total : APPEND → accusé au serveur SMTP", lat.total),
                             ("APPEND → enregistré (IDLE, FETCH, commit)", lat.to_stored),
                             ("enregistré → ticket écrit (recherche comprise)", lat.to_ticket),
                             ("ticket → accusé au serveur SMTP (envoi)", lat.to_smtp)):
            rows.append([fmt(lat.interval), part, len(values),
                         fmt(benchlib.percentile(values, 0.5) * 1000, 0),
                         fmt(benchlib.percentile(values, 0.95) * 1000, 0),
                         fmt(max(values) * 1000, 0)])
    benchlib.print_table(["intervalle d'envoi (s)", "étape", "n", "p50 (ms)", "p95 (ms)",
                          "max (ms)"], rows)
    for lat in latencies:
        print(f"\nintervalle {fmt(lat.interval)} s : {percent(lat.suggested)} des accusés avec "
              f"suggestion ; CPU svp mail {fmt(lat.usage.svp_cpu * 1000 / len(lat.total), 0)} "
              f"ms par courriel ; cœurs occupés (machine) {fmt(lat.usage.busy_cores, 2)} ; "
              f"charge 1 min {fmt(lat.usage.load[0], 2)} → {fmt(lat.usage.load[1], 2)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=200, help="throughput backlog")
    parser.add_argument("--latency", type=int, default=50, help="emails sent one at a time")
    parser.add_argument("--entries", type=int, default=None,
                        help="knowledge base size (default: the 157 demo entries)")
    parser.add_argument("--mail-intervals", default="5,0.2",
                        type=lambda text: [float(part) for part in text.split(",")],
                        help="SVP_MAIL_INTERVAL_SECONDS values (5: the product's default)")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server: a throwaway database is created on it "
                             "and dropped (default: a temporary SQLite file)")
    args = parser.parse_args()
    from knowledge.store.db import sqlite_url_for

    benchlib.print_machine()
    with tempfile.TemporaryDirectory(prefix="svp-bench-mail-") as name:
        folder = Path(name)
        database: Callable[[], Any] = (
            (lambda: throwaway_database(args.database_url)) if args.database_url
            else (lambda: nullcontext(sqlite_url_for(folder / "svp.db"))))
        with database() as url:
            throughputs, latencies, problems = run(url, folder, args)
    label = "PostgreSQL" if args.database_url else "SQLite"
    print_results(label, throughputs, latencies)
    for problem in problems:
        print(f"\n{problem}", file=sys.stderr)
    benchlib.print_machine()


if __name__ == "__main__":
    main()
