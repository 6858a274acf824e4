"""The real FreeRADIUS 3.2 for the tests, and Debian's eapol_test as its supplicant:
radiusd in the foreground on a config directory (the generated one or a hand-written
one), ready once it answers a Status-Server, stopped by its PID; a district CA with
FreeRADIUS's EAP-TLS files (what `citynet nac eap-config` writes); one 802.1X login with
eapol_test."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from admission import authority, eap, people
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.db import Store
from tests.support import CITYNET, http_answers, status_server, wait_until

SERVER_NAME = "radius.district.example"  # FreeRADIUS's certificate; supplicants check it


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """End a process the test started: ``sig``, then SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def serve_env(config: Config, token: str, web_port: int, api_port: int,
              **extra: str) -> dict[str, str]:
    """The environment of a `citynet serve` on ``config``'s store that answers FreeRADIUS's
    rlm_rest calls (its own RADIUS listener off), none of the caller's CITYNET_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
    env.update(CITYNET_DATA_DIR=str(config.data_path),
               CITYNET_DATABASE__URL=config.database.url,
               CITYNET_WEB__PORT=str(web_port), CITYNET_RADIUS__ENABLED="false",
               CITYNET_RADIUS__REST_TOKEN=token, CITYNET_RADIUS__REST_PORT=str(api_port),
               **extra)
    return env


@contextmanager
def serving(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`citynet serve` with ``env`` (``serve_env``), once its /healthz answers (it starts
    the rlm_rest API before the web app); stopped when the block ends."""
    web = subprocess.Popen([CITYNET, "serve"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: http_answers(f"http://127.0.0.1:{env['CITYNET_WEB__PORT']}/healthz"),
                   "citynet serve", web)
        yield web
    finally:
        stop(web)


def generated_config(conf: Path, env: dict[str, str], auth: int, acct: int) -> str:
    """What `citynet freeradius config` (run with ``env``) writes into ``conf`` for the
    ``auth`` and ``acct`` ports; its output."""
    return subprocess.run([CITYNET, "freeradius", "config", "--out", str(conf), "--auth-port",
                           str(auth), "--acct-port", str(acct)], env=env, check=True,
                          capture_output=True, text=True).stdout


def config_dir(conf: Path) -> None:
    """The directories a hand-written radiusd.conf (``base_conf``) expects under ``conf``."""
    for sub in ("log", "run", "radacct", "mods-config"):
        (conf / sub).mkdir(parents=True)


@contextmanager
def radiusd(conf: Path, port: int, secret: str, log: Path | None = None
            ) -> Iterator[subprocess.Popen[bytes]]:
    """FreeRADIUS on the config directory ``conf`` (in debug mode, ``-xx``, writing to
    ``log`` if given: read it when a test fails), once it answers a Status-Server signed
    with ``secret`` on UDP ``port``; stopped when the block ends."""
    out = log.open("wb") if log is not None else None
    try:
        process = subprocess.Popen(
            ["freeradius", "-fxx" if out else "-f", "-d", str(conf)],
            stdout=out or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if out else subprocess.DEVNULL)
        try:
            wait_until(lambda: status_server(port, secret.encode()) is not None,
                       "freeradius", process)
            yield process
        finally:
            stop(process)
    finally:
        if out is not None:
            out.close()


@dataclass(frozen=True)
class EapTls:
    """What FreeRADIUS's EAP-TLS is given: the eap module's directory (``$INCLUDE
    DIR/eap``) and its trust directory (CA and CRLs); the CA certificate as supplicants
    get it."""

    eap_dir: Path
    trust_dir: Path
    ca_pem: Path


def district_ca(store: Store, box: SecretBox, people_csv: str, directory: Path) -> EapTls:
    """People imported from ``people_csv``, the district CA made, a first CRL published
    (check_crl: without one for the CA every login fails) and FreeRADIUS's eap module
    written, as `citynet nac eap-config` does, under ``directory``."""
    rows, problems = people.read_csv(people_csv, "hr.csv")
    assert problems == []
    now = datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    with store.session() as session:
        people.apply(session, rows)
        authority.init(session, box, "示范区", SERVER_NAME, now)
        ca_pair, server = authority.authority_keys(session, box)
        number, crl = authority.publish_crl(session, box, now)
        files = eap.write_config(directory / "eap", ca_pair.cert_pem, server.cert_pem,
                                 server.key_pem, number, crl)
    ca_pem = directory / "ca.pem"
    ca_pem.write_bytes(ca_pair.cert_pem)
    return EapTls(directory / "eap", files.trust_dir, ca_pem)


def eapol_test(network: str, port: int, secret: str, out: Path, *extra: str,
               wait: int = 10) -> tuple[bool, str]:
    """One login with eapol_test against 127.0.0.1:``port``, the supplicant's ``network``
    block (its lines) written to ``out``.conf and its output to ``out``.out (read it when a
    test fails): (accepted, the output, which holds the Access-Accept's attributes)."""
    conf, log = out.parent / f"{out.name}.conf", out.parent / f"{out.name}.out"
    conf.write_text(f"network={{\n{network}}}\n")
    done = subprocess.run(["eapol_test", "-c", str(conf), "-a", "127.0.0.1", "-p", str(port),
                           "-s", secret, "-r", "0", "-t", str(wait), *extra],
                          capture_output=True, text=True, timeout=wait * 4, check=False)
    log.write_text(done.stdout)
    last = done.stdout.splitlines()[-1] if done.stdout else ""
    assert ("SUCCESS" if done.returncode == 0 else "FAILURE") in last, done.stdout[-3000:]
    return done.returncode == 0, done.stdout


def tls_network(identity: str, ca_pem: Path, p12: Path, password: str) -> str:
    """eapol_test's network block for an EAP-TLS login with a .p12."""
    return f"""    key_mgmt=WPA-EAP
    eap=TLS
    identity="{identity}"
    ca_cert="{ca_pem}"
    domain_match="{SERVER_NAME}"
    private_key="{p12}"
    private_key_passwd="{password}"
"""
