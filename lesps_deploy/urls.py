"""Served-model URLs (`http://host:8000/MODEL`, `grpc://host:8001/MODEL`), light enough for the format table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServerUrl", "DEFAULT_PORTS", "parse_server_url", "is_server_url"]


@dataclass(frozen=True)
class ServerUrl:
    """`http://host:port/MODEL` or `grpc://host:port/MODEL`."""

    protocol: str
    host: str
    port: int
    model: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.protocol}://{self.address}/{self.model}"


DEFAULT_PORTS = {"http": 8000, "grpc": 8001}
# One or two slashes: a URL that went through pathlib.Path ("http:/host:8000/m") still reads.
_URL = re.compile(
    r"^(?P<protocol>http|grpc):/{1,2}(?P<host>[^/:]+)(?::(?P<port>\d+))?(?P<path>/[^?#]*)?$", re.I
)


def is_server_url(weights: object) -> bool:
    """True when `weights` (str or Path) names a served model rather than a file."""
    return _URL.match(str(weights)) is not None


def parse_server_url(weights: str | Path) -> ServerUrl:
    """The parts of a served model's URL.

    Raises:
        ValueError: not an http:// or grpc:// URL with a model name.
    """
    match = _URL.match(str(weights))
    path = (match.group("path") or "").strip("/") if match else ""
    if match is None or not path or "/" in path:
        raise ValueError(f"{weights}: expected http://HOST:PORT/MODEL or grpc://HOST:PORT/MODEL")
    protocol = match.group("protocol").lower()
    port = int(match.group("port") or DEFAULT_PORTS[protocol])
    return ServerUrl(protocol, match.group("host"), port, path)
