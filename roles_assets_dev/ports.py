"""Ports on 127.0.0.1 for the servers the tests and the bench start."""

import socket


def free_port() -> int:
    """A port nothing listens on now. Another process may take it before the server binds it, so
    a server that moves to another port on a clash must be asked where it went."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
