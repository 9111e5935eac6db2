"""Vote throughput through gunicorn + PostgreSQL.

One run measures, against the same server:
  1. requests/s of an authenticated endpoint that does nothing (GET /api/v1/me/: same middleware,
     same session authentication) with 32 concurrent clients;
  2. ballots/s through the real cast endpoint (POST /api/v1/cycles/<slug>/ballots/<ward>/cast/),
     32 concurrent voters, each a different person; p50/p99 latency;
  3. a burst of 500 voters at once: how many stored, how many errors.
The ratio ballots/s ÷ no-op requests/s is the figure of merit (target ≥ 0.30, p99 ≤ 250 ms).

Needs PostgreSQL (and Redis, as in production) on loopback. Usage:
    .venv/bin/python bench/vote_throughput.py [--seconds 20] [--workers 5]
It creates (and afterwards drops) the database ``pbplatform_bench``.
"""

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB = "pbplatform_bench"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
PORT = 8765
CSRF = "benchcsrftokenbenchcsrftoken1234"  # any 32 characters: cookie and header must match
SLUG = "jersey-city-demo"


def sh(*args, env=None, check=True):
    return subprocess.run(args, cwd=ROOT, env=env, check=check, capture_output=True, text=True)


SECRET = "bench-" + "k" * 60  # the server and the setup that makes its sessions share it


def base_env(**extra):
    return {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DJANGO_SECRET_KEY": SECRET,
        **extra,
    }


def prepare(voters: int) -> list[tuple[str, str]]:
    """A fresh database with the demo open for voting and ``voters`` residents with sessions."""
    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}")
    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DB}")
    env = base_env(DJANGO_SETTINGS_MODULE="pbplatform.settings.local")
    sh(PY, "manage.py", "migrate", "--noinput", env=env)
    sh(PY, "manage.py", "load_demo", "--phase", "voting", "--quiet-logins", env=env)
    script = f"""
import json, django
django.setup()
from allauth.account.models import EmailAddress
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import User
users = User.objects.bulk_create(
    [User(email=f"bench{{i}}@example.org", password="!", full_name=f"Bench {{i}}") for i in range({voters})]
)
EmailAddress.objects.bulk_create([EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users])
out = []
for user in users:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    out.append(session.session_key)
from budgets.models import District
districts = District.objects.filter(cycle__slug="{SLUG}")
wards = {{d.code: list(d.projects.values_list("code", flat=True)) for d in districts}}
print(json.dumps({{"sessions": out, "wards": wards}}))
"""
    data = json.loads(sh(PY, "-c", script, env=env).stdout.strip().splitlines()[-1])
    return data


def start_server(workers: int) -> subprocess.Popen:
    env = base_env(
        DJANGO_SETTINGS_MODULE="pbplatform.settings.production",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_LOG_LEVEL="WARNING",
        GUNICORN_BIND=f"127.0.0.1:{PORT}",
        GUNICORN_WORKERS=str(workers),
    )
    proc = subprocess.Popen(
        [
            str(Path(PY).parent / "gunicorn"),
            "pbplatform.wsgi",
            "-c",
            "gunicorn.conf.py",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(100):
        try:
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn did not start: {proc.stderr.read().decode()[-2000:]}")


def headers(session: str) -> dict:
    return {
        "Cookie": f"sessionid={session}; csrftoken={CSRF}",
        "X-CSRFToken": CSRF,
        "Content-Type": "application/json",
        "Host": "127.0.0.1",
    }


class Pool:
    """Hands out each voter once, across threads."""

    def __init__(self, sessions):
        self.sessions = list(sessions)
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            return self.sessions.pop() if self.sessions else None


def run_load(kind: str, seconds: float, clients: int, pool: Pool, wards: dict) -> dict:
    latencies, errors, statuses = [], [0], {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    codes = sorted(wards)

    def client(n):
        rng = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        noop_session = pool.sessions[n] if kind == "noop" else None
        while time.monotonic() < stop:
            if kind == "noop":
                method, url, body, session = "GET", "/api/v1/me/", None, noop_session
            else:
                session = pool.take()
                if session is None:
                    return
                ward = rng.choice(codes)
                body = json.dumps(
                    {
                        "choices": [rng.choice(wards[ward])],
                        "date_of_birth": "1990-01-01",
                        "address": "1 Grand St",
                        "attest": True,
                    }
                )
                method, url = "POST", f"/api/v1/cycles/{SLUG}/ballots/{ward}/cast/"
            started = time.perf_counter()
            try:
                conn.request(method, url, body=body, headers=headers(session))
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                status = 0
            elapsed = time.perf_counter() - started
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status in (200, 201):
                    latencies.append(elapsed)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    latencies.sort()
    return {
        "ok": len(latencies),
        "errors": errors[0],
        "statuses": statuses,
        "seconds": round(wall, 2),
        "per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None,
    }


def burst(n: int, pool: Pool, wards: dict) -> dict:
    barrier = threading.Barrier(n)
    results = []
    lock = threading.Lock()
    codes = sorted(wards)

    def voter(i):
        session = pool.take()
        ward = codes[i % len(codes)]
        body = json.dumps(
            {"choices": [wards[ward][0]], "date_of_birth": "1990-01-01", "address": "1 Grand St", "attest": True}
        )
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        barrier.wait()
        try:
            conn.request("POST", f"/api/v1/cycles/{SLUG}/ballots/{ward}/cast/", body=body, headers=headers(session))
            status = conn.getresponse().status
        except OSError:
            status = 0
        with lock:
            results.append(status)

    threads = [threading.Thread(target=voter, args=(i,)) for i in range(n)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "voters": n,
        "stored": results.count(201),
        "errors": n - results.count(201),
        "seconds": round(time.monotonic() - began, 2),
    }


def count_record() -> dict:
    env = base_env(DJANGO_SETTINGS_MODULE="pbplatform.settings.local")
    script = """
import json, django
django.setup()
from voting.models import Ballot, VoterRollEntry
print(json.dumps({"ballots": Ballot.objects.count(), "roll": VoterRollEntry.objects.count()}))
"""
    return json.loads(sh(PY, "-c", script, env=env).stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--voters", type=int, default=12000)
    args = parser.parse_args()

    data = prepare(args.voters)
    sessions, wards = data["sessions"], data["wards"]
    server = start_server(args.workers)
    try:
        noop_pool = Pool(sessions[: args.clients])
        vote_pool = Pool(sessions[args.clients + args.burst :])
        burst_pool = Pool(sessions[args.clients : args.clients + args.burst])
        run_load("noop", 2, args.clients, noop_pool, wards)  # warm-up
        noop = run_load("noop", args.seconds, args.clients, noop_pool, wards)
        # Warm-up for the casts too: each worker's first ballot in each ward reads and caches that
        # ward's frozen design (6 wards x 5 workers = 30 cold requests, 1% of a run: the p99 itself).
        run_load("vote", 2, args.clients, vote_pool, wards)
        before = count_record()
        votes = run_load("vote", args.seconds, args.clients, vote_pool, wards)
        after_votes = count_record()
        burst_result = burst(args.burst, burst_pool, wards)
        after = count_record()
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {
        "clients": args.clients,
        "gunicorn_workers": args.workers,
        "noop": noop,
        "vote": votes,
        "ratio_ballots_per_noop_request": round(votes["per_second"] / noop["per_second"], 3),
        "burst": {**burst_result, "ballots_added": after["ballots"] - after_votes["ballots"]},
        "record_consistent": after["ballots"] == after["roll"],
        "ballots_added_by_load": after_votes["ballots"] - before["ballots"],
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "vote_throughput.json").write_text(json.dumps(result, indent=2))
    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}", check=False)


if __name__ == "__main__":
    main()
