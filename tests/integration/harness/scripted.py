"""The listening side shared by the scripted upstreams (SMTP, POP3, IMAP):
one socket on 127.0.0.1, one thread per connection, a count of the
connections, a transcript of each, and a list of notable events."""

import socket
import threading

from .util import register_cleanup, unregister_cleanup, wait_until


class ScriptedServer:
    """Serve one mode of MODES; a subclass runs each connection in
    _serve(conn, transcript, number), number counting from 1."""

    MODES = ()

    def __init__(self, pki, mode, host="127.0.0.1", port=0):
        if mode not in self.MODES:
            raise ValueError("unknown %s mode %r"
                             % (type(self).__name__, mode))
        self.pki = pki
        self.mode = mode
        self.lock = threading.Lock()
        self.accepted = 0
        self.transcripts = []	# one list of (direction, text) per connection
        self.events = []	# notable things: "tls_failed: ...", "reset"
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)

    def start(self):
        """Start accepting in a background thread; returns self."""
        register_cleanup(self.stop)
        self.thread.start()
        return self

    def stop(self):
        """Stop accepting and close the listening socket."""
        unregister_cleanup(self.stop)
        self.stopping = True
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        self.thread.join(5)

    def event(self, text):
        """Record a notable event."""
        with self.lock:
            self.events.append(text)

    def wait_event(self, prefix, timeout=15):
        """Wait for an event starting with prefix; return it or None."""
        def found():
            with self.lock:
                return next((e for e in self.events
                             if e.startswith(prefix)), None)
        try:
            return wait_until(found, timeout, what="event " + prefix)
        except TimeoutError:
            return None

    def sent(self):
        """Every line the relay sent, over all connections."""
        with self.lock:
            return [t for tr in self.transcripts for d, t in tr if d == "C"]

    def _accept_loop(self):
        """Accept connections until stopped, one thread each."""
        while not self.stopping:
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                transcript = []
                self.transcripts.append(transcript)
                number = self.accepted
            threading.Thread(target=self._serve,
                             args=(conn, transcript, number),
                             daemon=True).start()

    def _serve(self, conn, transcript, number):
        """Run one connection's script (the subclass's)."""
        raise NotImplementedError
