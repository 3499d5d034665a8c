"""Collectors: each reads one kind of source into domain values and nothing else.

They do no I/O beyond reading their source, keep no state between calls (the
caller passes the watermark to resume after) and report damage as a value,
so one bad record never loses the rest.
"""
