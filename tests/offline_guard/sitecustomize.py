"""Block and record every network access except loopback (tests/test_offline.py).

Python imports ``sitecustomize`` at start-up from the first folder on ``sys.path``
that has one; the offline test puts this folder first on ``PYTHONPATH``, so every
Python it starts (the runner, Jupyter kernels, ``t2v-edu``) loads this guard. A
connection, datagram or name lookup for anything but 127.0.0.0/8, ::1, 0.0.0.0,
"localhost" or a Unix socket raises ``OSError(ENETUNREACH)`` and appends one line to the file named
by ``T2V_NETWORK_LOG``. Kernels talk to their client over loopback ZMQ (C code, not
these functions), which stays allowed.
"""
import errno
import ipaddress
import os
import socket

_LOG = os.environ.get("T2V_NETWORK_LOG")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(host) -> bool:
    if host is None or host == "":
        return True  # binding to "" or a passive lookup
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).split("%")[0]
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name that needs DNS
    return address.is_loopback or address.is_unspecified  # 0.0.0.0 is this machine


def _refuse(what: str, target) -> None:
    if _LOG:
        with open(_LOG, "a") as log:
            log.write(f"{os.getpid()} {what} {target!r}\n")
    raise OSError(errno.ENETUNREACH, f"network access blocked by the offline test: "
                                     f"{what} {target!r}")


def _check_address(sock, address, what: str) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        if not _is_loopback(address[0]):
            _refuse(what, address)


_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
_sendto, _getaddrinfo = socket.socket.sendto, socket.getaddrinfo


def _guarded_connect(self, address):
    _check_address(self, address, "connect")
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(self, address, "connect")
    return _connect_ex(self, address)


def _guarded_sendto(self, data, *args):
    _check_address(self, args[-1], "sendto")
    return _sendto(self, data, *args)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _is_loopback(host):
        _refuse("getaddrinfo", host)
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.socket.sendto = _guarded_sendto
socket.getaddrinfo = _guarded_getaddrinfo
