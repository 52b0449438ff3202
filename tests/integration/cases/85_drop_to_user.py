"""Started as root with user = "nobody": binds, then runs as nobody with
only CAP_NET_BIND_SERVICE left, so a reload can still bind a port below
1024 while root is gone for good."""

import pwd
import socket

from harness import sd
from harness.case import Case
from harness.relay import device
from harness.util import listening_ports, wait_listening

CAP_NET_BIND_SERVICE = 1 << 10


def low_port():
    """A free TCP port below 1024 on 127.0.0.1."""
    for port in range(1023, 899, -1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free port between 900 and 1023")


def client(ctx):
    nobody = pwd.getpwnam("nobody")
    sd.start(ctx)
    ctx.relay.wait_line(lambda l: "running as user nobody (uid %d"
                        % nobody.pw_uid in l, what="running as nobody")
    status = sd.proc_status(ctx.relay.proc.pid)
    ctx.note("/proc status: %r" % {k: status[k] for k in
             ("Uid", "Gid", "CapPrm", "CapEff", "CapBnd", "NoNewPrivs")})
    ctx.check(status["Uid"].split() == [str(nobody.pw_uid)] * 4,
              "uids are %s, not nobody's" % status["Uid"])
    ctx.check(status["Gid"].split() == [str(nobody.pw_gid)] * 4,
              "gids are %s, not nobody's" % status["Gid"])
    ctx.check(int(status["CapEff"], 16) == CAP_NET_BIND_SERVICE and
              int(status["CapPrm"], 16) == CAP_NET_BIND_SERVICE,
              "capabilities other than CAP_NET_BIND_SERVICE are left")
    ctx.check(status["NoNewPrivs"] == "1", "no_new_privs is not set")

    port = low_port()
    ctx.relay.settings["listeners"].append(
        {"name": "low", "protocol": "smtp", "address": "127.0.0.1",
         "port": port})
    ctx.relay.write_config()
    ctx.relay.reload()
    wait_listening([port], 5, ctx.relay.alive, "listener on port %d" % port)
    ctx.listener_ports["low"] = port
    code, lines = ctx.raw("low").reply(10)
    ctx.check(code == 220, "no 220 on port %d: %r" % (port, lines))
    ctx.check(port in listening_ports(), "port %d closed" % port)


def as_nobody(settings):
    settings["user"] = "nobody"


CASE = Case(
    "root + user=nobody: runs as nobody, keeps only CAP_NET_BIND_SERVICE",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1")],
    listeners=("smtp",),
    settings=as_nobody,
    start=False,
)
