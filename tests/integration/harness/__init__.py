"""End-to-end test harness for tlsrelayd: fixtures, clients, runner."""
