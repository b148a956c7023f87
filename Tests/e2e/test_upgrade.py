"""Upgrades converge: a database installed from any earlier commit of main that changed
sql/, then migrated with today's sql/, holds exactly the schema of a fresh install
(pg_dump --schema-only, and the migration ledger), and an edited migration is refused.

Each install runs in a scratch database of the test stack's cluster, as the role the
stack migrates with. Commits from before the migrations/ + definitions/ layout are
installed as their own migrator did it: each numbered file in its own transaction,
recorded by version and name; later ones by today's `agentlive-api migrate`, whose
ledger they share.
"""
import os
import pathlib
import shutil
import subprocess
import uuid

import pytest

from agentlive_fixtures import ROOT, STACK_DIR

PGBIN = pathlib.Path("/usr/lib/postgresql/15/bin")


def git(*args) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout


def sql_commits() -> list:
    if git("rev-parse", "--is-shallow-repository").strip() == "true":
        pytest.fail("the upgrade test needs the whole history of main (this clone is shallow)")
    return git("log", "--format=%h", "--", "sql").split()[::-1]


def stack_setting(name) -> str:
    for line in pathlib.Path(STACK_DIR, "env").read_text().splitlines():
        if line.startswith(f"export {name}="):
            return line.split("=", 1)[1].strip("'\"")
    raise AssertionError(f"{name} is not in {STACK_DIR}/env")


def conninfo(database) -> str:
    return f"host={pathlib.Path(STACK_DIR).resolve()}/pgsock port={stack_setting('PGPORT')} dbname={database} user=agentlive"


def psql(database, *args, user="agentlive"):
    url = conninfo(database).replace("user=agentlive", f"user={user}")
    p = subprocess.run([str(PGBIN / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, *args],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"psql {args} on {database} failed:\n{p.stderr}"
    return p.stdout


def migrate(database, sql_dir):
    return subprocess.run([str(pathlib.Path(stack_setting("BIN")) / "agentlive-api"), "migrate", "--sql-dir", str(sql_dir)],
                          env={**os.environ, "AGENTLIVE_DATABASE_URL": conninfo(database)},
                          capture_output=True, text=True, timeout=120)


def schema(database) -> str:
    p = subprocess.run([str(PGBIN / "pg_dump"), "--schema-only", conninfo(database)],
                       capture_output=True, text=True, timeout=120, check=True)
    # pg_dump 15.18 brackets the dump with \restrict <random key> / \unrestrict lines.
    dump = "\n".join(line for line in p.stdout.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))
    ledger = psql(database, "-c", "select version, name, checksum from agentlive_migrations order by version")
    return dump + "\n-- ledger\n" + ledger


@pytest.fixture
def scratch():
    """Scratch databases owned by the stack's role, dropped afterwards."""
    made = []

    def make():
        name = f"upgrade_{uuid.uuid4().hex[:10]}"
        psql("postgres", "-c", f"create database {name} owner agentlive", user="postgres")
        made.append(name)
        return name
    yield make
    for name in made:
        psql("postgres", "-c", f"drop database if exists {name} with (force)", user="postgres")


def export_sql(commit, folder: pathlib.Path) -> pathlib.Path:
    """The sql/ folder of a commit, as files."""
    target = folder / commit
    for path in git("ls-tree", "-r", "--name-only", commit, "sql").split():
        out = target / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{path}"],
                                       check=True, capture_output=True).stdout)
    return target / "sql"


def install_legacy(database, sql_dir: pathlib.Path):
    """What the migrator of those commits did: each NNN_*.sql in its own transaction."""
    psql(database, "-c", "create table public.agentlive_migrations (version integer primary key, "
                         "name text not null, applied_at timestamptz not null default now())")
    for path in sorted(sql_dir.glob("[0-9]*.sql")):
        version = int(path.name.split("_", 1)[0])
        psql(database, "-1", "-f", str(path), "-c",
             f"insert into public.agentlive_migrations (version, name) values ({version}, '{path.name}')")


@pytest.fixture(scope="module")
def fresh_schema(tmp_path_factory):
    name = f"upgrade_fresh_{uuid.uuid4().hex[:8]}"
    psql("postgres", "-c", f"create database {name} owner agentlive", user="postgres")
    try:
        p = migrate(name, ROOT / "sql")
        assert p.returncode == 0, p.stderr
        yield schema(name)
    finally:
        psql("postgres", "-c", f"drop database if exists {name} with (force)", user="postgres")


@pytest.mark.parametrize("commit", sql_commits())
def test_an_install_from_this_commit_migrates_to_exactly_todays_schema(commit, fresh_schema, scratch, tmp_path):
    database = scratch()
    old = export_sql(commit, tmp_path)
    if (old / "migrations").is_dir():
        p = migrate(database, old)
        assert p.returncode == 0, f"installing {commit} failed:\n{p.stderr}"
    else:
        install_legacy(database, old)
    p = migrate(database, ROOT / "sql")
    assert p.returncode == 0, f"migrating the install of {commit} with today's sql/ failed:\n{p.stderr}"
    upgraded = schema(database)
    if upgraded != fresh_schema:
        import difflib
        diff = "\n".join(difflib.unified_diff(fresh_schema.splitlines(), upgraded.splitlines(),
                                              "fresh install", f"install of {commit}, migrated", lineterm="", n=2))
        pytest.fail(f"the install of {commit} did not converge:\n{diff[:6000]}")
    # A second run changes nothing.
    p = migrate(database, ROOT / "sql")
    assert p.returncode == 0 and "no new migration" in p.stdout, p.stdout + p.stderr
    assert schema(database) == fresh_schema


def test_an_edited_migration_is_refused_with_its_name_and_nothing_changes(scratch, tmp_path):
    database = scratch()
    assert migrate(database, ROOT / "sql").returncode == 0
    before = schema(database)
    edited = tmp_path / "sql"
    shutil.copytree(ROOT / "sql", edited)
    first = sorted((edited / "migrations").glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- an edit after the fact\n")
    p = migrate(database, edited)
    assert p.returncode != 0
    assert f"migrations/{first.name}" in p.stderr and "changed" in p.stderr, p.stderr
    assert "Fatal error" not in p.stderr and "Traceback" not in p.stderr
    assert schema(database) == before


def test_a_missing_sql_folder_is_named_in_one_clear_line(tmp_path):
    p = migrate("postgres", tmp_path / "nowhere")
    assert p.returncode != 0
    assert f"no SQL folder at {tmp_path / 'nowhere'}" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) <= 3, p.stderr
