"""At start, devices within warn_days of their sunset (or past it) get a
warning line each; a device whose sunset is today is still admitted."""

from harness.case import Case
from harness.relay import device, sunset_in
from harness.steps import refused_greeting

SOON = device("ups-soon", "127.0.0.1", sunset=sunset_in(5),
              owner="facilities@example.test")
TODAY = device("fax-today", "127.0.0.4", sunset=sunset_in(0))
GONE = device("old-fax", "127.0.0.5", sunset=sunset_in(-1))
FAR = device("copier-far", "127.0.0.6", sunset=sunset_in(400))


def start_warning(ctx, dev, event, days):
    """The start-up warning line for dev: event, sunset, days_left."""
    fields = ctx.relay.wait_event(5, event=event, device=dev["name"])
    ctx.check(fields is not None, "no event=%s line for %s at start"
              % (event, dev["name"]))
    ctx.check(fields.get("days_left") == str(days) and
              fields.get("sunset") == dev["sunset"] and
              fields.get("owner") == dev["owner"],
              "%s line for %s: %r, expected days_left=%d sunset=%s owner=%s"
              % (event, dev["name"], fields, days, dev["sunset"],
                 dev["owner"]))
    line = next(l for l in ctx.relay.lines()
                if "event=%s device=%s " % (event, dev["name"]) in l)
    ctx.check(" warning: " in line, "not a warning: %r" % line)


def client(ctx):
    start_warning(ctx, SOON, "device_expiring", 5)
    start_warning(ctx, TODAY, "device_expiring", 0)
    start_warning(ctx, GONE, "device_expired", -1)
    ctx.check(ctx.relay.wait_event(0, device=FAR["name"]) is None,
              "a device 400 days from its sunset got a start-up warning")

    s, greeting = ctx.smtp("smtp", source="127.0.0.4")
    ctx.expect_code(greeting, 220, "greeting for the device whose sunset "
                    "is today")
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
    started = ctx.relay.wait_session(5, event="start", device="fax-today")
    ctx.check(started is not None, "no start line for fax-today")
    ctx.check_sunset(started)

    refused_greeting(ctx, source="127.0.0.5")
    ctx.check(ctx.relay.wait_session(5, event="refused", reason="expired",
                                     device="old-fax") is not None,
              "no reason=expired line for old-fax")


CASE = Case(
    "start-up warnings: device_expiring days_left=5 and 0, device_expired; "
    "sunset today admitted",
    client,
    upstream="counting",
    devices=[SOON, TODAY, GONE, FAR],
    upstream_connections=0,
    log={"event": "end", "result": "ok", "device": "fax-today",
         "days_left": "0"},
)
