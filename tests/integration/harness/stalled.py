"""Unknown clients that stall a TLS handshake: connections to an
implicit-TLS listener that never send a ClientHello (case 24 and
tests/load/robustness.py)."""

import socket


def stall(port, count, source, host="127.0.0.1"):
    """Open up to count connections from the address source to host:port
    and send nothing; stops at the first that fails (out of descriptors,
    refused) and returns the sockets it opened."""
    socks = []
    for _ in range(count):
        try:
            socks.append(socket.create_connection(
                (host, port), timeout=5, source_address=(source, 0)))
        except OSError:
            break
    return socks


def count_closed(socks, timeout):
    """Close every socket of stall(); returns how many the relay had
    closed first (end of file or a reset within timeout seconds each)."""
    closed = 0
    for s in socks:
        s.settimeout(timeout)
        try:
            closed += s.recv(1) == b""
        except TimeoutError:
            pass
        except OSError:
            closed += 1		# reset: closed too
        s.close()
    return closed
