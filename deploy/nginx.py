"""Run nginx in front of the deployed layout: fill in deploy/nginx.conf, then run nginx in the foreground.

`python -m deploy.nginx` (Procfile.cluster) reads from the environment:
- WEB_PORT: where nginx listens (NGINX_HOST, default 127.0.0.1), the service's one port;
- APP_PORT: granian (request/response); STREAMS_PORT: uvicorn (event streams); both on this host, or
  APP_SERVERS and STREAMS_SERVERS: `host:port` of each application host's, comma-separated (a load
  balancer in front of several hosts: docs/deployment.md);
- NGINX_DIR: where the filled-in config, the pid file and the temp files go (var/nginx/<WEB_PORT>).
The body limit is the app's own, MAX_REQUEST_BODY_BYTES. nginx needs no root: every path is under NGINX_DIR.

nginx's error log (its access log is off) comes through this process: each line is logged again by the
logger "nginx" at nginx's level, through the service's logging (LOG_FORMAT, LOG_LEVEL) and its redaction
(core/logs.py). nginx's lines about a failing upstream quote the request and the upstream URL, query
string and all: `?token=` and `?ticket=` of every stream open while the streams process was down.
"""

import ctypes
import logging
import logging.config
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from django.conf import settings  # lazy: read at first use, once DJANGO_SETTINGS_MODULE is set

from core.logs import redact
from deploy.serve import raise_open_files_limit

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf"
ROOT = TEMPLATE.parent.parent
# An error log line: `2024/05/01 12:00:00 [error] 12#12: *3 connect() failed ... request: "GET /...?token=..."`
NGINX_LINE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(?P<level>[a-z]+)\] (?P<message>.*)$")
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "crit": logging.CRITICAL,
    "alert": logging.CRITICAL,
    "emerg": logging.CRITICAL,
}
logger = logging.getLogger("nginx")


def binary() -> str | None:
    """Debian's nginx (nginx-light or nginx), which is in /usr/sbin, often not on a user's PATH."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def max_body_bytes() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seatbooking.settings")
    return settings.MAX_REQUEST_BODY_BYTES


def configure_logging() -> None:
    """This process logs as every other one does (settings.LOGGING: format, level, redaction)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seatbooking.settings")
    logging.config.dictConfig(settings.LOGGING)


def relay(stream: IO[bytes]) -> None:
    """nginx's error log, a line at a time until nginx and its workers have closed it, logged again at
    nginx's level (its own timestamp left out: the formatter adds one) and redacted."""
    for raw in stream:
        line = raw.decode(errors="replace").rstrip("\r\n")
        match = NGINX_LINE.match(line)
        level = LEVELS.get(match["level"], logging.WARNING) if match else logging.WARNING
        logger.log(level, "%s", redact(match["message"] if match else line))  # redacted whatever the handler


def render(
    directory: Path, *, port: int, app_servers: list[str], streams_servers: list[str], host: str = "127.0.0.1"
) -> Path:
    """deploy/nginx.conf filled in, as directory/nginx.conf (the directory is made if missing); the
    servers are `host:port`, one per application host."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    values = {
        "DIR": str(directory),
        "HOST": host,
        "PORT": str(port),
        "APP_SERVERS": upstream_servers(app_servers),
        "STREAMS_SERVERS": upstream_servers(streams_servers),
        "MAX_BODY": str(max_body_bytes()),
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    left = re.findall(r"@[A-Z_]+@", text)
    assert not left, f"deploy/nginx.conf: no value for {left}"
    conf = directory / "nginx.conf"
    conf.write_text(text)
    return conf


def upstream_servers(addresses: list[str]) -> str:
    return "\n".join(f"        server {address} max_fails=1 fail_timeout=5s;" for address in addresses)


def servers(list_name: str, port_name: str) -> list[str]:
    """From the environment: the list (APP_SERVERS) if set, else this host's port (APP_PORT)."""
    listed = [a.strip() for a in os.environ.get(list_name, "").split(",") if a.strip()]
    return listed or [f"127.0.0.1:{int(os.environ[port_name])}"]


def command(conf: Path) -> list[str]:
    nginx = binary()
    if nginx is None:
        raise SystemExit("nginx is not installed: apt-get install nginx-light (docs/operations.md, Deployment)")
    # -p: relative paths under the directory; -e: errors before the config is read go to stderr too
    return [nginx, "-p", str(conf.parent), "-c", str(conf), "-e", "stderr"]


def main() -> None:
    port = int(os.environ["WEB_PORT"])
    conf = render(
        Path(os.environ.get("NGINX_DIR") or ROOT / "var" / "nginx" / str(port)),
        port=port,
        app_servers=servers("APP_SERVERS", "APP_PORT"),
        streams_servers=servers("STREAMS_SERVERS", "STREAMS_PORT"),
        host=os.environ.get("NGINX_HOST", "127.0.0.1"),
    )
    raise_open_files_limit()  # nginx inherits it: two descriptors per open stream (client and upstream)
    configure_logging()
    sys.exit(supervise(command(conf)))


def supervise(argv: list[str]) -> int:
    """Run nginx; a stop signal (SIGTERM from honcho or systemd, SIGINT from Ctrl-C) becomes SIGQUIT.

    nginx takes SIGTERM as a fast stop: it cuts open responses at once, so an event stream would lose
    the `server-stopping` event that the stream server sends it while stopping too. SIGQUIT is nginx's
    graceful stop: idle connections close, responses in flight end first (bounded by
    worker_shutdown_timeout in deploy/nginx.conf). nginx runs in a session of its own, so that a signal
    to this process's group (honcho sends its SIGTERM to the group, a terminal its Ctrl-C) reaches it only
    this way; should this process die without passing a signal on (SIGKILL), nginx gets SIGTERM.
    nginx's stderr (its error log) is read here and relayed, redacted (`relay`).
    """
    nginx = subprocess.Popen(argv, start_new_session=True, preexec_fn=stop_with_parent, stderr=subprocess.PIPE)

    def forward(signum, frame, as_signal=signal.SIGQUIT):
        nginx.send_signal(as_signal)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, lambda signum, frame: nginx.send_signal(signal.SIGHUP))  # reload the config
    assert nginx.stderr is not None
    relay(nginx.stderr)
    return nginx.wait()


def stop_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


if __name__ == "__main__":
    main()
