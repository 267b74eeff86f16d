#!/usr/bin/env python3
"""Writes the seed corpus of the driver fuzz target (fuzz/corpus/driver).
The files are committed; run this again only after changing the input
format (driver_fuzz.c says what each byte means).

    python3 fuzz/gen_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- driver_fuzz.c: records {op, len, bytes} ----------------------------

ADD_PUB, REMOVE_PUB, ADD_SUB, REMOVE_SUB, LOG_UNMAPPED, CLIENT_CLOSE = 1, 2, 3, 4, 5, 6


def rec(op, body=b""):
    return bytes([op, len(body)]) + body


def register(slot=0, raw_id=None):
    if raw_id is None:
        return rec(0, bytes([slot, 0]))
    return rec(0, bytes([slot, 1]) + struct.pack("<Q", raw_id))


def cmd(type_, client, corr, log=0, stream=0, flags=0, chan=0, raw_chan=None):
    body = bytes([type_, client, corr, log, stream, flags])
    if raw_chan is not None:
        body += raw_chan
    else:
        body += bytes([chan])
    return rec(1, body)


def raw(type_, payload=b""):
    return rec(2, struct.pack("<H", type_) + payload)


def work(n=1):
    return rec(3, bytes([n - 1]))


def client_write(client, field, value=0):
    return rec(4, bytes([client, field]) + struct.pack("<Q", value))


UNKNOWN = 0xf0   # an id nobody registered
ZERO = 0xe0      # client id 0

driver = {
    # Two clients: a publication and a matching subscription (an image),
    # then every remove and a clean close.
    "pub-sub-lifecycle": (
        register(0) + register(1)
        + cmd(ADD_PUB, 0, 1, stream=1) + cmd(ADD_SUB, 1, 2, stream=1) + work(2)
        + cmd(LOG_UNMAPPED, 1, 0, log=1) + cmd(REMOVE_SUB, 1, 2) + cmd(REMOVE_PUB, 0, 1)
        + work(2) + cmd(CLIENT_CLOSE, 0, 0) + cmd(CLIENT_CLOSE, 1, 0) + work(1)),
    # Subscriptions first, publications joining them; exclusive ones.
    "sub-then-pubs": (
        register(0) + register(5)
        + cmd(ADD_SUB, 1, 3, chan=1) + cmd(ADD_SUB, 0, 4, chan=1)
        + cmd(ADD_PUB, 0, 5, chan=1, flags=1) + cmd(ADD_PUB, 1, 6, chan=1)
        + work(3) + cmd(REMOVE_PUB, 1, 6) + cmd(REMOVE_SUB, 0, 4) + work(1)),
    # Commands the driver must refuse: unknown and zero client, a wrong
    # version, short and long payloads, an unknown type, duplicate ids,
    # bad channel names.
    "rejects": (
        register(0)
        + cmd(ADD_PUB, UNKNOWN, 1) + cmd(ADD_PUB, ZERO, 1) + cmd(ADD_SUB, 0xff, 2)
        + cmd(ADD_PUB, 0, 1, flags=0x02) + cmd(ADD_PUB, 0, 1, flags=0x82) + cmd(ADD_PUB, 0, 1, flags=0x10)
        + cmd(ADD_SUB, 0, 2, flags=0x20) + cmd(7, 0, 1) + cmd(0xff, 0, 1)
        + cmd(ADD_PUB, 0, 7) + cmd(ADD_PUB, 0, 7) + cmd(ADD_SUB, 0, 7)
        + cmd(ADD_PUB, 0, 0xf0) + cmd(ADD_PUB, 0, 0xf1) + cmd(ADD_PUB, 0, 8, chan=3)
        + cmd(ADD_PUB, 0, 9, flags=4, raw_chan=b"../etc") + cmd(ADD_PUB, 0, 10, flags=0xc)
        + cmd(REMOVE_PUB, UNKNOWN, 7) + work(2)),
    # A client that stops heart-beating and one whose process is gone:
    # the driver reclaims their registrations (timeout path).  The first
    # duty cycle comes after the writes: the driver looks for gone
    # processes on its first cycle, then every 20 ms.
    "client-timeout": (
        register(0) + register(1) + register(2)
        + cmd(ADD_PUB, 0, 1) + cmd(ADD_SUB, 1, 2) + cmd(ADD_SUB, 2, 3)
        + client_write(0, 0) + client_write(1, 1) + work(2)
        + cmd(ADD_PUB, 0, 4) + cmd(REMOVE_SUB, 2, 3) + work(1)),
    # Extension commands (the request/response extension has no command
    # handler), raw records of odd types and sizes.
    "ext-and-raw": (
        register(0)
        + cmd(0xe0, 0, 0) + cmd(0xef, UNKNOWN, 0) + cmd(0xf3, 0, 0)
        + raw(0x1000, struct.pack("<Q", 1)) + raw(0x1000) + raw(0x1fff, b"\x01" * 200)
        + raw(ADD_PUB, b"\x01\x00\x00\x00") + raw(0x7fff, b"x") + work(2)),
    # Hostile writes to client records: duplicate ids, a state flipped,
    # an id changed under registrations.
    "hostile-records": (
        register(0) + register(1, raw_id=1) + register(2, raw_id=(1 << 40))
        + cmd(ADD_PUB, 0, 1) + cmd(ADD_SUB, 1, 2) + cmd(ADD_SUB, 2, 3) + work(1)
        + client_write(0, 3, 3) + client_write(1, 4, 12345) + client_write(2, 5, 1 << 62)
        + client_write(2, 2, (1 << 64) - 1) + work(2) + cmd(CLIENT_CLOSE, 2, 0) + work(1)),
}

def main():
    for name, files in (("driver", driver),):
        d = os.path.join(HERE, "corpus", name)
        os.makedirs(d, exist_ok=True)
        for fname, blob in files.items():
            with open(os.path.join(d, fname), "wb") as f:
                f.write(blob)
        print(f"{d}: {len(files)} inputs")


if __name__ == "__main__":
    main()
