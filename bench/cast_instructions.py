"""What one cast costs the web worker, in instructions (valgrind's callgrind), not seconds.

Seconds on a shared 2-core machine move by ±25 % between runs minutes apart; instruction counts
barely move. So the vote path is counted the way gunicorn's worker runs it: the production settings'
WSGI application called in-process (no server, no network), its requests built as gunicorn builds
them, each ballot from a different resident with a session, the demo open for voting.

Four processes run under ``valgrind --tool=callgrind``, each from a fresh interpreter through
``django.setup()`` and the WSGI application, then:
  1. nothing (the start-up);
  2. one no-op request (``GET /api/v1/me/``): a worker's first request imports the URLconf, the views
     and DRF, and warms Django's caches, once per worker;
  3. that request, then ``--requests`` casts (``POST /api/v1/cycles/<slug>/ballots/<ward>/cast/``,
     the first one still cold for the vote path: it reads and caches its ward's frozen design, as a
     worker's first ballot does);
  4. that request, then ``--requests`` more no-op requests (the same middleware and session
     authentication as a cast, no work).
A cast's cost = (instructions of 3 − instructions of 2) ÷ requests; the no-op's the same from 4; the
first request's one-off cost = 2 − 1. Only this process's instructions count: PostgreSQL's share is in
its own process and not in these figures.

Needs PostgreSQL and Redis on loopback, and valgrind. Usage:
    .venv/bin/python bench/cast_instructions.py [--requests 150] [--redis redis://127.0.0.1:6379/0]
It creates (and afterwards drops) the database ``pbplatform_bench_cast``; the result is printed and
written to ``bench/results/cast_instructions.json`` (not committed). Takes a few minutes: callgrind
runs Python about fifty times slower.
"""

import argparse
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB = "pbplatform_bench_cast"
SLUG = "jersey-city-demo"
CSRF = "benchcsrftokenbenchcsrftoken1234"  # any 32 characters: cookie and header must match
SECRET = "bench-" + "k" * 60  # the setup that makes the sessions and the measured process share it


def env(redis: str, **extra) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
        "REDIS_URL": redis,
        "DJANGO_SECRET_KEY": SECRET,
        "PYTHONHASHSEED": "0",  # the same dict and set layouts in every run
        **extra,
    }


def sh(*args, environ=None, check=True) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=environ, check=check, capture_output=True, text=True)


SESSIONS = """
import json, django
django.setup()
from allauth.account.models import EmailAddress
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import User
from budgets.models import District
users = User.objects.bulk_create(
    [User(email=f"bench{i}@example.org", password="!", full_name=f"Bench {i}") for i in range(COUNT)]
)
EmailAddress.objects.bulk_create([EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users])
sessions = []
for user in users:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    sessions.append(session.session_key)
wards = {d.code: sorted(d.projects.values_list("code", flat=True)) for d in District.objects.filter(cycle__slug=SLUG)}
print(json.dumps({"sessions": sessions, "wards": {code: codes for code, codes in wards.items() if codes}}))
"""


def prepare(redis: str, voters: int) -> Path:
    """A fresh database with the demo open for voting and ``voters`` residents with sessions; the
    sessions and wards go to a file the measured processes read."""
    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}")
    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DB}")
    local = env(redis, DJANGO_SETTINGS_MODULE="pbplatform.settings.local")
    sh(PY, "manage.py", "migrate", "--noinput", environ=local)
    sh(PY, "manage.py", "load_demo", "--phase", "voting", "--quiet-logins", environ=local)
    script = SESSIONS.replace("COUNT", str(voters)).replace("SLUG", repr(SLUG))
    data = sh(PY, "-c", script, environ=local).stdout.strip().splitlines()[-1]
    path = Path(tempfile.mkdtemp(prefix="pb-cast-instructions-")) / "voters.json"
    path.write_text(data)
    return path


# --- the measured process ----------------------------------------------------------------------------------
def child(kind: str, count: int, voters: Path) -> None:
    """Start the WSGI application, then (unless ``kind`` is none) make one no-op request, then ``count``
    requests of ``kind`` (cast, noop, or warm for none)."""
    sys.path.insert(0, str(ROOT))
    from pbplatform.wsgi import application

    data = json.loads(voters.read_text())
    sessions, wards = data["sessions"], data["wards"]
    rng = random.Random(2026)
    statuses = []

    def request(method: str, path: str, session: str, body: bytes = b"") -> int:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_COOKIE": f"sessionid={session}; csrftoken={CSRF}",
            "HTTP_X_CSRFTOKEN": CSRF,
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status = []
        response = application(environ, lambda line, headers, exc_info=None: status.append(line))
        try:
            for _chunk in response:
                pass
        finally:
            if hasattr(response, "close"):
                response.close()
        return int(status[0].split()[0])

    codes = sorted(wards)
    if kind != "none":
        statuses.append(request("GET", "/api/v1/me/", sessions[-1]))
    for n in range(count):
        if kind == "cast":
            ward = codes[n % len(codes)]
            body = json.dumps(
                {
                    "choices": [rng.choice(wards[ward])],
                    "date_of_birth": "1990-01-01",
                    "address": "1 Grand St",
                    "attest": True,
                }
            ).encode()
            statuses.append(request("POST", f"/api/v1/cycles/{SLUG}/ballots/{ward}/cast/", sessions[n], body))
        else:
            statuses.append(request("GET", "/api/v1/me/", sessions[-1 - n % 10]))
    print(json.dumps({"kind": kind, "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))}}))


def instructions(kind: str, count: int, voters: Path, redis: str) -> int:
    """Instructions of one measured process (its whole life), by callgrind."""
    with tempfile.TemporaryDirectory() as out:
        profile = Path(out) / "callgrind.out"
        run = sh(
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={profile}",
            PY,
            str(Path(__file__).resolve()),
            "--child",
            kind,
            str(count),
            str(voters),
            environ=env(
                redis,
                DJANGO_SETTINGS_MODULE="pbplatform.settings.production",
                DJANGO_ALLOWED_HOSTS="127.0.0.1",
                DJANGO_SECURE_SSL_REDIRECT="false",
                DJANGO_LOG_LEVEL="WARNING",
            ),
            check=False,
        )
        if run.returncode != 0:
            raise SystemExit(f"the {kind} process failed:\n{run.stderr[-3000:]}")
        reply = json.loads(run.stdout.strip().splitlines()[-1])
        expected = {"cast": {"200": 1, "201": count}, "noop": {"200": count + 1}, "warm": {"200": 1}, "none": {}}[kind]
        if reply["statuses"] != expected:
            raise SystemExit(f"the {kind} process got {reply['statuses']}, expected {expected}")
        totals = re.search(r"^(?:totals|summary): (\d+)", profile.read_text(), re.MULTILINE)
        return int(totals.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, count, voters = args.child
        child(kind, int(count), Path(voters))
        return

    started = time.monotonic()
    load_before = os.getloadavg()
    voters = prepare(args.redis, args.requests + 10)
    try:
        start_up = instructions("none", 0, voters, args.redis)
        warm = instructions("warm", 0, voters, args.redis)
        cast = instructions("cast", args.requests, voters, args.redis)
        noop = instructions("noop", args.requests, voters, args.redis)
    finally:
        sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}", check=False)
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "requests": args.requests,
        "start_up_instructions": start_up,
        "first_request_instructions": warm - start_up,
        "cast_instructions": round((cast - warm) / args.requests),
        "noop_instructions": round((noop - warm) / args.requests),
        "load_average_before_after": [load_before, os.getloadavg()],
        "minutes": round((time.monotonic() - started) / 60, 1),
    }
    print(f"start-up {start_up / 1e6:.1f} M instructions; a worker's first request {(warm - start_up) / 1e6:.1f} M")
    print(f"one cast {result['cast_instructions'] / 1e6:.1f} M instructions ({args.requests} casts, the first cold)")
    print(f"one no-op request {result['noop_instructions'] / 1e6:.1f} M instructions")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "cast_instructions.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
