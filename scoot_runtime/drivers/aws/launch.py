"""What an instance runs: the launch spec kept in SSM, and the user data that uses it.

The resolved configuration may hold secrets, so none of it goes into user data
(which anyone allowed `ec2:DescribeInstanceAttribute` can read, and which is
kept on the instance's disk). The command, the environment and the working
folder go, as one JSON document, into an SSM Parameter Store `SecureString`
(encrypted with the account's `aws/ssm` key); the user data only names that
parameter and the source archive. On the instance a small launcher, run by
systemd as an unprivileged user, fetches the parameter at every start and
`exec`s the command with that environment: the secrets live in the process's
memory only, never in a file.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

import orjson

from scoot_model.objects import env_text

# Run on the instance by systemd (`python3 /opt/scoot/launch.py`).
LAUNCHER = r'''
import json, os, subprocess, sys

name = os.environ["SCOOT_PARAMETER"]
value = subprocess.run(
    ["aws", "ssm", "get-parameter", "--name", name, "--with-decryption",
     "--query", "Parameter.Value", "--output", "text"],
    check=True, capture_output=True, text=True,
).stdout
spec = json.loads(value)
env = {k: v for k, v in os.environ.items()
       if k in ("PATH", "LANG", "AWS_REGION", "AWS_DEFAULT_REGION", "SCOOT_REPLICA") or k.startswith("LC_")}
env["HOME"] = "/opt/scoot"
env.update(spec["env"])
os.chdir(os.path.join("/opt/scoot/app", spec.get("workdir") or "."))
command = spec["command"]
argv = ["/bin/sh", "-c", command[0]] if spec.get("shell") else command
sys.stdout.flush()
os.execvpe(argv[0], argv, env)
'''.lstrip()


def launch_spec(config: Mapping[str, Any]) -> str:
    """The JSON document kept in SSM: command, shell, workdir, and the environment as text.

    `PORT` is the compute's port, whatever `env` says (every replica is its own
    instance, so all listen on the same port); `HOST` is `0.0.0.0` unless `env`
    says otherwise, since an instance is reached from outside.
    """
    env = {str(name): env_text(value) for name, value in (config.get("env") or {}).items()}
    env.setdefault("HOST", "0.0.0.0")
    port = config.get("port")
    if isinstance(port, int):
        env["PORT"] = str(port)
    document = {
        "command": list(config["command"]),
        "shell": bool(config.get("shell", False)),
        "workdir": config.get("workdir"),
        "env": env,
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


def user_data(*, address: str, region: str, bucket: str, key: str, parameter: str, replica: int) -> str:
    """The boot script of one replica: fetch the source, install its requirements, start it."""
    q = shlex.quote
    return f"""#!/bin/bash
# Written by scoot for compute {address}, replica {replica}. Holds no configuration values:
# the command and environment are read from the SSM parameter {parameter} at each start.
set -euo pipefail
export AWS_REGION={q(region)} AWS_DEFAULT_REGION={q(region)}
id scoot >/dev/null 2>&1 || useradd --system --home-dir /opt/scoot --shell /sbin/nologin scoot
mkdir -p /opt/scoot/app
cd /opt/scoot
aws s3 cp {q(f"s3://{bucket}/{key}")} source.tar.gz
rm -rf app && mkdir app && tar -xzf source.tar.gz -C app && rm source.tar.gz
if [ -f app/requirements.txt ]; then
  command -v pip3 >/dev/null || dnf install -y python3-pip
  pip3 install --quiet -r app/requirements.txt
fi
cat > launch.py <<'SCOOT_LAUNCHER'
{LAUNCHER}SCOOT_LAUNCHER
chown -R scoot: /opt/scoot
cat > /etc/systemd/system/scoot-app.service <<'SCOOT_UNIT'
[Unit]
Description=scoot compute {address}
After=network-online.target
Wants=network-online.target

[Service]
User=scoot
Environment=SCOOT_PARAMETER={parameter} SCOOT_REPLICA={replica} AWS_REGION={region} AWS_DEFAULT_REGION={region}
ExecStart=/usr/bin/python3 /opt/scoot/launch.py
Restart=always
RestartSec=2
# Also on the serial console, which `get-console-output` (and the driver's `logs`) reads.
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
SCOOT_UNIT
systemctl daemon-reload
systemctl enable --now scoot-app.service
"""
