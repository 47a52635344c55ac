"""`make run`: SQLite, the filesystem broker, SMS codes on the console, dev keys made once."""

import os
from pathlib import Path

from compliance_site import devkeys
from compliance_site.env import env_str

_VAR = Path(os.environ.get("FACELEDGER_VAR_DIR", Path(__file__).resolve().parents[2] / "var"))
# The database, sessions, keys and SMS files live here: this user only (an older checkout made
# it 0755, so an existing folder is tightened too).
_VAR.mkdir(mode=0o700, parents=True, exist_ok=True)
_VAR.chmod(0o700)
os.environ.setdefault("DJANGO_SECRET_KEY", devkeys.secret_key(_VAR / "keys"))
os.environ.setdefault("DJANGO_DEBUG", "1")

from .base import *  # noqa: E402,F403
from .base import BIOMETRIC_KEY_STORE, SWAP_C2PA_CERT_CHAIN, SWAP_C2PA_PRIVATE_KEY  # noqa: E402

# A dev key per signing job, made once. The checkpoint key keeps the file of the single key
# that came before, so a log sealed by an older checkout still verifies.
AUDIT_SIGNING_KEYS = {
    job: env_str(f"AUDIT_{job.upper()}_KEY", "")
    or devkeys.ed25519_pem(
        _VAR / "keys",
        "audit_signing_key.pem" if job == "checkpoint" else f"audit_{job}_key.pem",
    )
    for job in AUDIT_SIGNING_JOBS  # noqa: F405
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    devkeys.private_file(Path(DATABASES["default"]["NAME"]))  # noqa: F405
devkeys.master_key_store(Path(BIOMETRIC_KEY_STORE), legacy=_VAR / "keys")  # noqa: F405
# C2PA on swap outputs with a development CA and signer made once (see devkeys).
if not (SWAP_C2PA_CERT_CHAIN or SWAP_C2PA_PRIVATE_KEY):
    SWAP_C2PA_CERT_CHAIN, SWAP_C2PA_PRIVATE_KEY = devkeys.c2pa_dev_credentials(_VAR / "keys")
