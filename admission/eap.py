"""FreeRADIUS's EAP-TLS from citynet's CA: the ``eap`` module text and the trust
directory it reads (CA certificate and CRLs, hashed the way OpenSSL looks them up).

Revocation reaches FreeRADIUS by CRL (docs/admission.md says why): FreeRADIUS 3.2 keeps
what it loaded from ``ca_path`` and only picks up a file under a *new* hash name, so every
CRL is written under its own name (``crl-NNNNNN.pem``) and ``openssl rehash`` links it as
the next ``<hash>.rN``; OpenSSL then holds both and uses the newer (thisUpdate).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from citynet.catalogs import N_
from citynet.errors import CitynetError

# how often FreeRADIUS rebuilds its store from ca_path (s), the least 3.2.1 takes (it
# raises anything lower to 300): a safety net, since OpenSSL looks for new CRL hash links
# on every verification, which is what makes a revocation take effect at once
CA_PATH_RELOAD = 300


class TrustDirError(CitynetError):
    """The trust directory could not be brought up to date."""


@dataclass(frozen=True)
class TlsFiles:
    server_cert: Path
    server_key: Path
    trust_dir: Path  # the CA certificate and every CRL, hashed (ca_path)


def crl_name(number: int) -> str:
    return f"crl-{number:06d}.pem"


def _tunnels(server: str) -> str:
    """PEAP (inner EAP-MSCHAPv2) and EAP-TTLS (inner PAP) in the same TLS settings, their
    inner logins handled by the virtual server ``server``; no client certificate."""
    common = f"""            tls = tls-common
            copy_request_to_tunnel = no
            use_tunneled_reply = no
            require_client_cert = no
            virtual_server = "{server}"
"""
    return f"""        peap {{
{common}            default_eap_type = mschapv2
        }}
        ttls {{
{common}            default_eap_type = mschapv2
        }}
        mschapv2 {{
            send_error = no
        }}
"""


def eap_module(files: TlsFiles, tunnel_server: str | None = None, *,
               by_citynet: bool = False) -> str:
    """The ``eap`` module: EAP-TLS, the client's certificate checked against the CA, its
    CRL and its CN against the EAP identity — or, ``by_citynet``, against the CA alone:
    citynet's post-auth call then takes the person from the certificate and refuses a
    revoked one at every login (so an anonymous outer identity works, and no CRL can go
    stale); with ``tunnel_server``, PEAP-MSCHAPv2 and EAP-TTLS too, their inner logins
    handled there."""
    tunnels = _tunnels(tunnel_server) if tunnel_server else ""
    checks = ("            check_crl = no\n" if by_citynet else
              "            check_crl = yes\n            check_cert_cn = %{User-Name}\n")
    return f"""    eap {{
        default_eap_type = tls
        timer_expire = 60
        ignore_unknown_eap_types = no
        max_sessions = 16384
        tls-config tls-common {{
            certificate_file = {files.server_cert}
            private_key_file = {files.server_key}
            ca_path = {files.trust_dir}
            ca_path_reload_interval = {CA_PATH_RELOAD}
{checks}            cipher_list = "DEFAULT"
            # supplicants still do TLS 1.3 in EAP badly (FreeRADIUS's own advice)
            tls_min_version = "1.2"
            tls_max_version = "1.2"
            ecdh_curve = "prime256v1"
            cache {{
                enable = no
            }}
            ocsp {{
                enable = no
            }}
        }}
        tls {{
            tls = tls-common
        }}
{tunnels}    }}
"""


def _directory(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrustDirError(N_("cannot write %(path)s: %(error)s"), path=path,
                            error=exc.strerror) from None


def _write(path: Path, data: bytes) -> None:
    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise TrustDirError(N_("cannot write %(path)s: %(error)s"), path=path,
                            error=exc.strerror) from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temp, 0o644)  # certificates and CRLs are public; FreeRADIUS's user reads
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _rehash(directory: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TrustDirError(N_("openssl is not installed: it links CRLs for FreeRADIUS"))
    done = subprocess.run([openssl, "rehash", str(directory)],  # noqa: S603 (fixed argv)
                          capture_output=True,
                          text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise TrustDirError(N_("openssl rehash %(dir)s failed: %(error)s"), dir=directory,
                            error=done.stderr.strip())


def publish(trust_dir: Path, ca_pem: bytes, crl_number: int, crl_pem: bytes) -> Path:
    """Put the CA certificate and a new CRL into the trust directory and rehash it;
    earlier CRLs stay (FreeRADIUS may hold them; OpenSSL uses the newest)."""
    _directory(trust_dir)
    _write(trust_dir / "ca.pem", ca_pem)
    path = trust_dir / crl_name(crl_number)
    if path.exists():
        raise TrustDirError(N_("%(path)s exists: CRL numbers only grow"), path=path)
    _write(path, crl_pem)
    _rehash(trust_dir)
    return path


def write_config(out: Path, ca_pem: bytes, server_cert_pem: bytes, server_key_pem: bytes,
                 crl_number: int, crl_pem: bytes, tunnel_server: str | None = None,
                 *, by_citynet: bool = False) -> TlsFiles:
    """A directory FreeRADIUS can use as it is: ``server.pem``, ``server.key`` (0600),
    ``trust/`` (CA and first CRL, hashed) and ``eap``, the module to ``$INCLUDE`` inside
    ``modules {}`` (``by_citynet``: as :func:`eap_module`'s)."""
    out = out.resolve()
    _directory(out)
    files = TlsFiles(out / "server.pem", out / "server.key", out / "trust")
    _write(files.server_cert, server_cert_pem)
    _write(files.server_key, server_key_pem)
    files.server_key.chmod(0o600)
    publish(files.trust_dir, ca_pem, crl_number, crl_pem)
    _write(out / "eap", ("# Generated by `citynet nac eap-config`: $INCLUDE it inside "
                         "modules {}.\n" + eap_module(files, tunnel_server,
                                                    by_citynet=by_citynet)).encode())
    return files
