"""`python -m connectors.emulators KIND --port N`: a standalone emulator, seeded, that stops cleanly."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import msal
import pytest
import requests
from django.conf import settings


@pytest.mark.parametrize(("kind", "count", "entity_set"), [("dataverse", "accounts=7", "accounts"),
                                                           ("finops", "CustomersV3=7", "CustomersV3")])
def test_the_command_serves_a_seeded_emulator_over_https(kind, count, entity_set, tmp_path):
    cert = tmp_path / "cert.pem"
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.emulators", kind, "--port", "0", "--cert", str(cert), "--count", count,
         "--seed", "5", "--client-secret", "s3cret", "--extra-client", "second-app:0ther"],
        cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        match = re.match(rf"{kind} emulator at (https://127\.0\.0\.1:(\d+)(/\S*)) \(certificate (\S+)\)", line)
        assert match, line + process.stderr.read(2000)
        api_url, port, origin = match.group(1), match.group(2), f"https://127.0.0.1:{match.group(2)}"
        assert match.group(4) == str(cert)
        session = requests.Session()
        session.trust_env, session.verify = False, str(cert)
        token = msal.ConfidentialClientApplication(
            "p2c-emulator", client_credential="s3cret", authority=f"{origin}/fabrikam", http_client=session,
            instance_discovery=False).acquire_token_for_client(scopes=[f"{origin}/.default"])["access_token"]
        params = {"cross-company": "true"} if kind == "finops" else {}
        response = session.get(f"{api_url}{entity_set}", params=params, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert len(response.json()["value"]) == 7
        second = msal.ConfidentialClientApplication(
            "second-app", client_credential="0ther", authority=f"{origin}/fabrikam", http_client=session,
            instance_discovery=False).acquire_token_for_client(scopes=[f"{origin}/.default"])
        assert "access_token" in second, second
        assert int(port) > 0
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        process.stdout.close()
        process.stderr.close()
