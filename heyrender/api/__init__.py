"""Talking to HeyGen: `wire` knows the wire format, `client` does the I/O."""
