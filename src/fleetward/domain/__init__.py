"""Pure domain: plain values and rules, no I/O and no framework imports."""
