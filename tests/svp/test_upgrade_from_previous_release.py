"""Upgrade from the previous release: its own code fills a database, HEAD's `svp init` upgrades it.

The previous release (0.2.0, commit 94a87d9, schema 0013) is exported from this repository's
history with `git archive` and run from its own virtual environment, whose path lists the old
tree first and then this environment's installed dependencies (never this tree: the editable
install is wired by a `.pth` file that is deliberately not read). Its CLI, web server, JSON API
and services create what a real installation holds: the demo knowledge base, imported and
revised entries, accounts (one with a second factor, whose TOTP secret 0014 must seal), API
tokens, organisations, askers, tickets in every status, outbox and inbox rows, a web session,
audit events. HEAD then upgrades the same database and data folder, and must keep every row
and every entry's text, read the sealed secret, find an imported entry, let the accounts log in
and accept the old API token.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import create_engine, inspect, text

from knowledge.people import organisations
from knowledge.store import migrate
from knowledge.store.db import make_engine, make_session_factory, sqlite_url_for

pytestmark = pytest.mark.slow

PREVIOUS_RELEASE = "94a87d9da808f6f528c33a87aacb3cdf7688f35d"
PREVIOUS_HEAD_REVISION = "0013"
REPO = Path(__file__).resolve().parents[2]
OLD_PACKAGES = ("svp", "knowledge", "admin", "bot", "index")
START_TIMEOUT_SECONDS = 90
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# Tables whose row count a migration after 0013 changes on purpose, with the reason. Read each
# new migration before adding one here; every other table must keep exactly its rows.
# - 0014 (sealed TOTP secrets) widens users.totp_secret and encrypts its values in place: no
#   row is added or removed. On SQLite it rebuilds the column with native ALTER statements,
#   not Alembic's table copy, whose DROP TABLE would cascade from users to web_sessions,
#   recovery_codes and api_tokens: the equal counts of those tables check exactly that.
# - 0015 (shared API rate limit) creates the new table api_rate_calls and touches no other.
ROW_COUNT_CHANGES: dict[str, str] = {}

# Entries imported with the old `svp kb import`: SVP-style questions absent from the demo base.
IMPORTED_ENTRIES = (
    {"id": "UPG-001",
     "question": "Le supplément de loyer de solidarité est-il dû dans un logement situé en "
                 "quartier prioritaire de la politique de la ville ?",
     "answer": "Non : les logements situés dans un quartier prioritaire de la politique de la "
               "ville sont exemptés du supplément de loyer de solidarité, quel que soit le "
               "dépassement du plafond de ressources.",
     "theme": "Supplément de loyer de solidarité"},
    {"id": "UPG-002",
     "question": "Quel est le délai de convocation des membres de la commission "
                 "d'attribution des logements et d'examen de l'occupation des logements ?",
     "answer": "Le règlement intérieur de la commission fixe le délai de convocation ; il "
               "doit laisser aux membres le temps d'étudier les dossiers présentés.",
     "theme": "Attributions"},
    {"id": "UPG-003",
     "question": "L'abattement de taxe foncière sur les propriétés bâties peut-il financer le "
                 "recrutement de médiateurs de quartier ?",
     "answer": "Oui : le renforcement de la présence de proximité, dont la médiation, fait "
               "partie des actions que l'abattement de TFPB peut financer, selon la "
               "convention signée avec la collectivité et l'État.",
     "theme": "TFPB"},
)

# Run by the OLD release's interpreter: what only the bot or a web form does in that version
# (clarification, rejection, self-service, feedback, delivery, inbox, second factor) goes
# through the old code's own services. Prints what the test needs to know afterwards.
OLD_SERVICES_SCRIPT = """
import json
import sys

from knowledge.desk import inbox, outbox, review, tickets
from knowledge.people import advisers, second_factor
from svp.cli.base import open_knowledge

plan = json.loads(sys.argv[1])
with open_knowledge() as knowledge:
    with knowledge.session() as session:
        adviser = advisers.get_by_login(session=session, login=plan["adviser"])
        review.request_clarification(session=session, ticket_id=plan["clarify"],
                                     adviser=adviser,
                                     message="Pouvez-vous préciser la date du bail ?")
        review.reject(session=session, ticket_id=plan["reject"], adviser=adviser,
                      message="Cette question relève du service juridique de votre organisme.")
        served = tickets.get(session=session, ticket_id=plan["self_served"])
        tickets.mark_self_served(session=session, ticket_id=served.id, asker_id=served.asker_id)
        review.assign_to_me(session=session, ticket_id=plan["assign"], adviser=adviser)
        answered = tickets.get(session=session, ticket_id=plan["feedback"])
        tickets.record_feedback(session=session, ticket_id=answered.id,
                                asker_id=answered.asker_id, value=-1,
                                comment="La réponse ne cite pas le texte applicable.")
        due = outbox.claim_due(session=session)
        outbox.mark_sent(session=session, outbox_id=due[0].id)
        outbox.mark_failed(session=session, outbox_id=due[1].id, reason="Forbidden: bot blocked")
        inbox.record(session=session, arrivals=[inbox.Arrival(
            update_id=700001, chat_id=910000001, kind="message",
            payload={"update_id": 700001, "message": {"text": "/aide"}})])
        inbox.mark_done(session=session, update_id=700001)
    with knowledge.session() as session:
        user = advisers.get_by_login(session=session, login=plan["totp_login"])
        secret = second_factor.start_enrolment(session=session, user_id=user.id)
        second_factor.confirm_enrolment(session=session, user_id=user.id,
                                        code=second_factor.current_code(secret),
                                        actor="user:" + user.login)
print(json.dumps({"totp_secret": secret}))
"""


# Run by the old venv: where each package comes from, the schema it expects, the finders.
IMPORT_PROBE = f"""
import importlib, json, sys
from knowledge.store import migrate
print(json.dumps({{
    "files": {{name: importlib.import_module(name).__file__ for name in {OLD_PACKAGES!r}}},
    "head": migrate.head_revision(),
    "finders": [type(finder).__name__ for finder in sys.meta_path]}}))
"""


@dataclass(frozen=True)
class PreviousRelease:
    """The previous release's source tree and the interpreter that imports it."""

    tree: Path
    python: Path


@dataclass(frozen=True)
class Snapshot:
    """What the database holds: rows per table, a checksum per entry, the schema revision."""

    counts: dict[str, int]
    entries: dict[int, str]
    revision: str | None


@dataclass(frozen=True)
class Svp:
    """One `svp` command line (old or HEAD) on the test's database and data folder."""

    python: Path
    env: dict[str, str]
    cwd: Path

    def run(self, *args: str, stdin: str | None = None) -> str:
        """Run a command, fail the test with its output if it fails, return its stdout."""
        result = subprocess.run([str(self.python), "-m", "svp", *args], env=self.env,
                                cwd=self.cwd, input=stdin, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, (f"svp {' '.join(args)} failed ({self.python}):\n"
                                        f"{result.stdout}\n{result.stderr}")
        return result.stdout

    def script(self, source: str, *args: str) -> str:
        """Run a Python script with this interpreter and environment; return its stdout."""
        path = self.cwd / "old_services.py"
        path.write_text(source, encoding="utf-8")
        result = subprocess.run([str(self.python), str(path), *args], env=self.env,
                                cwd=self.cwd, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"script failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    @contextmanager
    def serve(self, log: Path, *options: str) -> Iterator[str]:
        """Run `svp serve` on a free port until the block ends; yield its address."""
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with log.open("w+", encoding="utf-8") as output:
            process = subprocess.Popen(
                [str(self.python), "-m", "svp", "serve", "--port", str(port), *options],
                env=self.env, cwd=self.cwd, stdout=output, stderr=subprocess.STDOUT)
            try:
                _wait_healthy(process, url, log)
                yield url
            finally:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=20)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"svp serve stopped:\n{log.read_text(encoding='utf-8')}")
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"svp serve did not start:\n{log.read_text(encoding='utf-8')}")
        time.sleep(0.2)


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> PreviousRelease:
    """The previous release exported from this repository, importable by its own venv."""
    if _git("cat-file", "-e", f"{PREVIOUS_RELEASE}^{{commit}}").returncode != 0:
        pytest.fail(f"commit {PREVIOUS_RELEASE} (previous release) is not in {REPO}: the "
                    "clone is shallow or partial; fetch the history (git fetch --unshallow) "
                    "to run the upgrade test")
    root = tmp_path_factory.mktemp("previous-release")
    tree = root / "src"
    tree.mkdir()
    archive = _git("archive", "--format=tar", PREVIOUS_RELEASE)
    assert archive.returncode == 0, archive.stderr.decode()
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    # The dependencies are those of this environment (the release only lacked cryptography).
    # Plain path lines are appended to sys.path without reading that folder's own .pth files,
    # so this tree's editable install (`__editable__*.pth` and its finder) stays out; the old
    # tree comes first and shadows anything else that could provide the same packages.
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(purelib, "svp_previous_release.pth").write_text(
        "\n".join([str(tree), *ours]) + "\n", encoding="utf-8")
    probe = subprocess.run(
        [str(python), "-c", IMPORT_PROBE],
        cwd=root, env=_process_environment({}), capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    for name, file in found["files"].items():
        assert Path(file).is_relative_to(tree), f"the old venv imports {name} from {file}"
    assert found["head"] == PREVIOUS_HEAD_REVISION, found
    assert not any("editable" in finder.lower() for finder in found["finders"]), found
    return PreviousRelease(tree=tree, python=python)


def _process_environment(settings: dict[str, str]) -> dict[str, str]:
    """Environment of an svp process: no inherited SVP_* or PYTHONPATH, only the given settings."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("SVP_") and key not in ("PYTHONPATH", "PYTHONHOME")}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **settings})
    return env


@pytest.fixture(params=["sqlite", "postgresql"])
def upgrade_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own for one upgrade (SQLite file, or a PostgreSQL database)."""
    if request.param == "sqlite":
        yield sqlite_url_for(tmp_path / "var" / "svp.db")
        return
    server: Any = request.getfixturevalue("postgres_server")
    url = server.create("svp_upgrade")
    try:
        yield url
    finally:
        server.drop(url)


def snapshot(url: str) -> Snapshot:
    """Count every table's rows and checksum every entry with its revisions, from the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sorted(inspect(connection).get_table_names())
            counts = {name: int(connection.scalar(text(f'SELECT count(*) FROM "{name}"')) or 0)
                      for name in tables}
            revisions: dict[int, list[list[Any]]] = {}
            for row in connection.execute(text(
                    "SELECT entry_id, revision, question, answer, theme, status, actor, reason "
                    "FROM entry_revisions ORDER BY entry_id, revision, id")):
                revisions.setdefault(row[0], []).append(list(row[1:]))
            entries = {
                row[0]: hashlib.sha256(json.dumps(
                    [list(row[1:]), revisions.get(row[0], [])], ensure_ascii=False,
                    default=str).encode()).hexdigest()
                for row in connection.execute(text(
                    "SELECT id, external_id, question, answer, theme, status, revision "
                    "FROM entries ORDER BY id"))}
            revision = (connection.scalar(text("SELECT version_num FROM alembic_version"))
                        if "alembic_version" in tables else None)
    finally:
        engine.dispose()
    return Snapshot(counts=counts, entries=entries, revision=revision)


def _column(url: str, query: str) -> list[Any]:
    """The first column of a query's rows, read straight from the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text(query)))
    finally:
        engine.dispose()


def log_in(client: httpx.Client, login: str, password: str) -> httpx.Response:
    """Post the login form with its CSRF token; return the answer (303 when accepted)."""
    page = client.get("/login")
    match = _CSRF.search(page.text)
    assert match, f"no CSRF token on the login page:\n{page.text[:500]}"
    return client.post("/login", data={"login": login, "password": password,
                                       "csrf_token": match.group(1)})


@dataclass(frozen=True)
class OldData:
    """What the old release created that HEAD must still honour."""

    passwords: dict[str, str]
    token: str
    totp_login: str
    totp_secret: str
    imported_ids: dict[str, int]
    revised_entry_id: int
    invite_code: str


def fill_with_previous_release(old: Svp, url: str, work: Path) -> OldData:
    """Use the old release as an installation would: CLI, web server, JSON API, services."""
    old.run("init")
    passwords = {"dominique": secrets.token_urlsafe(16), "alexis": secrets.token_urlsafe(16)}
    # The demo is the old code's own way to fill an empty base (157 entries, five
    # organisations, askers, eight tickets); it only runs before any account exists.
    with old.serve(work / "old-serve.log", "--demo") as address:
        old.run("user", "add", "dominique", "--role", "admin", "--name", "Dominique Admin",
                "--password-stdin", stdin=passwords["dominique"] + "\n")
        old.run("user", "add", "alexis", "--role", "adviser", "--name", "Alexis Conseil",
                "--password-stdin", stdin=passwords["alexis"] + "\n")
        old.run("org", "add", "Habitat Haute-Provence", "--kind", "esh", "--departement", "04")
        invite_code = old.run("org", "invite", "Habitat Haute-Provence").strip().splitlines()[-1]
        [pending] = _column(url, "SELECT id FROM askers WHERE status = 'pending'")
        old.run("asker", "approve", str(pending))
        old.run("adviser", "link-code", "alexis")
        token = old.run("api", "token", "create", "Intranet", "--user", "conseiller",
                        "--scope", "write").strip().splitlines()[-1]
        old.run("api", "token", "create", "Tableau de bord", "--user", "dominique",
                "--expires", "365")
        entries_file = work / "entries.jsonl"
        entries_file.write_text("".join(json.dumps(entry, ensure_ascii=False) + "\n"
                                        for entry in IMPORTED_ENTRIES), encoding="utf-8")
        old.run("kb", "import", str(entries_file))
        imported = {str(external_id): int(entry_id) for entry_id, external_id in zip(
            _column(url, "SELECT id FROM entries WHERE external_id LIKE 'UPG-%' ORDER BY id"),
            _column(url, "SELECT external_id FROM entries WHERE external_id LIKE 'UPG-%' "
                         "ORDER BY id"), strict=True)}
        assert sorted(imported) == [entry["id"] for entry in IMPORTED_ENTRIES]
        new = _column(url, "SELECT id FROM tickets WHERE status = 'new' ORDER BY id")
        in_review = _column(url, "SELECT id FROM tickets WHERE status = 'in_review'")
        [demo_entry, last_demo_entry] = _column(
            url, "SELECT min(id) FROM entries WHERE external_id NOT LIKE 'UPG-%' UNION ALL "
                 "SELECT max(id) FROM entries WHERE external_id NOT LIKE 'UPG-%'")

        api = httpx.Client(base_url=f"{address}/api/v1", timeout=120,
                           headers={"Authorization": f"Bearer {token}"})
        with api:
            revised = imported["UPG-002"]
            calls = [
                api.patch(f"/entries/{revised}", json={
                    "answer": "Le règlement intérieur de la commission fixe le délai de "
                              "convocation, au moins cinq jours avant la séance.",
                    "reason": "précision du délai"}),
                api.patch(f"/entries/{demo_entry}", json={
                    "theme": "Logement", "reason": "thème harmonisé", "minor": True}),
                api.post(f"/entries/{last_demo_entry}/retire",
                         json={"reason": "dispositif supprimé"}),
                api.post(f"/tickets/{new[0]}/answer", json={
                    "answer": "Oui, le fils peut obtenir le transfert du bail s'il vivait "
                              "avec le locataire depuis au moins un an.",
                    "publication": "new", "theme": "Attributions",
                    "question": "Le fils d'un locataire décédé peut-il reprendre le bail ?",
                    "references": ["Loi n° 89-462, art. 14"], "confirm_duplicate": True}),
                api.post(f"/tickets/{new[1]}/answer", json={
                    "answer": "Les logements en quartier prioritaire sont exemptés du "
                              "supplément de loyer de solidarité.",
                    "publication": "update", "entry_id": imported["UPG-001"]}),
                api.post(f"/tickets/{in_review[0]}/note",
                         json={"text": "Vérifier avec le service juridique."}),
            ]
            for call in calls:
                assert call.status_code in (200, 201), (call.request.url, call.text)
            assert api.get("/search", params={"q": "supplément de loyer"}).status_code == 200

        with httpx.Client(base_url=address, timeout=60) as browser:
            assert log_in(browser, "alexis", passwords["alexis"]).status_code == 303
            assert browser.get("/queue").status_code == 200

        plan = {"adviser": "alexis", "clarify": new[2], "reject": new[3],
                "self_served": new[4], "assign": new[5], "feedback": new[0],
                "totp_login": "dominique"}
        printed = json.loads(old.script(OLD_SERVICES_SCRIPT, json.dumps(plan)).splitlines()[-1])
    statuses = set(_column(url, "SELECT DISTINCT status FROM tickets"))
    assert statuses == {"new", "in_review", "waiting_asker", "answered", "self_served",
                        "rejected"}, statuses
    return OldData(passwords=passwords, token=token, totp_login="dominique",
                   totp_secret=printed["totp_secret"], imported_ids=imported,
                   revised_entry_id=revised, invite_code=invite_code)


def test_head_upgrades_a_database_filled_by_the_previous_release(
        previous_release: PreviousRelease, upgrade_database: str, tmp_path: Path) -> None:
    url = upgrade_database
    settings = {"SVP_DATA_DIR": str(tmp_path / "var"), "SVP_DATABASE_URL": url,
                "SVP_INDEX_DIR": str(tmp_path / "var" / "index"),
                "SVP_EMBEDDER": "e5-small-int4"}
    work = tmp_path / "work"  # no .env, no package here: nothing shadows either release
    work.mkdir()
    old = Svp(python=previous_release.python, env=_process_environment(settings), cwd=work)
    head = Svp(python=Path(sys.executable), cwd=work,
               env={**_process_environment(settings), "PYTHONPATH": str(REPO)})

    data = fill_with_previous_release(old, url, work)
    before = snapshot(url)
    assert before.revision == PREVIOUS_HEAD_REVISION
    stored = _column(url, "SELECT totp_secret FROM users WHERE login = 'dominique'")
    assert stored == [data.totp_secret]  # the old release keeps it in clear: 0014 has work

    upgraded = head.run("init")
    assert migrate.head_revision() in upgraded
    after = snapshot(url)
    assert after.revision == migrate.head_revision()
    lost = {name: (count, after.counts.get(name)) for name, count in before.counts.items()
            if after.counts.get(name) != count and name not in ROW_COUNT_CHANGES}
    assert not lost, (f"row counts changed by the upgrade (table: before, after): {lost}; if a "
                      "migration changes a table on purpose, say why in ROW_COUNT_CHANGES")
    assert after.entries == before.entries
    sealed = _column(url, "SELECT totp_secret FROM users WHERE login = 'dominique'")
    assert sealed[0] != data.totp_secret and sealed[0].startswith("v1:")

    # An invitation code handed out before codes became dictatable still lets members in.
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            invited = organisations.find_by_invite_code(session=session, code=data.invite_code)
            assert invited is not None and invited.name == "Habitat Haute-Provence"
    finally:
        engine.dispose()

    checked = head.run("secrets", "check")
    assert "1 sous la clé actuelle" in checked and "0 illisible" in checked, checked
    question = IMPORTED_ENTRIES[2]["question"]
    found = json.loads(head.run("search", question, "--json"))
    assert found["results"][0]["id"] == data.imported_ids["UPG-003"], found

    with ExitStack() as stack:
        address = stack.enter_context(head.serve(tmp_path / "head-serve.log"))
        adviser = stack.enter_context(httpx.Client(base_url=address, timeout=60))
        assert log_in(adviser, "alexis", data.passwords["alexis"]).status_code == 303
        assert adviser.get("/queue").status_code == 200

        admin = stack.enter_context(httpx.Client(base_url=address, timeout=60))
        step = log_in(admin, data.totp_login, data.passwords[data.totp_login])
        assert step.status_code == 303
        assert step.headers["location"].startswith("/login/second-factor")
        form = admin.get("/login/second-factor")
        match = _CSRF.search(form.text)
        assert match, form.text[:500]
        # The old release spent the current step when it confirmed the enrolment; the next
        # one is within the accepted drift and not used yet.
        code = pyotp.TOTP(data.totp_secret).at(time.time() + 30)
        done = admin.post("/login/second-factor",
                          data={"code": code, "csrf_token": match.group(1)})
        assert done.status_code == 303, done.text[:500]
        assert admin.get("/queue").status_code == 200

        api = stack.enter_context(httpx.Client(
            base_url=f"{address}/api/v1", timeout=60,
            headers={"Authorization": f"Bearer {data.token}"}))
        entry = api.get(f"/entries/{data.revised_entry_id}")
        assert entry.status_code == 200, entry.text
        assert len(entry.json()["revisions"]) == 2
        queue = api.get("/tickets", params={"status": "all"})
        assert queue.status_code == 200 and queue.json()["total"] == before.counts["tickets"]

