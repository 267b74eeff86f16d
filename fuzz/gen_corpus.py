#!/usr/bin/env python3
"""Writes the seed corpora of the driver and rr fuzz targets
(fuzz/corpus/driver, fuzz/corpus/rr).  The files are committed; run this
again only after changing an input format (driver_fuzz.c and rr_fuzz.c
say what each byte means).

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

# ---- rr_fuzz.c -------------------------------------------------------------
# Ops mode (data[0] bit0 = 0, bits 2-3 the layout) and prefix mode (bit0 =
# 1: the bytes are the start of chunks.dat, or of ports.dat with bit1).
# The segments' layouts, as chunk_pool.c and port_pool.c write them:

CFGS = [  # rr_fuzz.c cfgs[]: (classes [(size, count)], server ports, client ports)
    ([(64, 8), (1024, 4)], 2, 2),
    ([(16, 3), (32, 1), (4096, 2)], 4, 4),
    ([(128, 16)], 1, 3),
    ([(8, 1)], 1, 1),
]
CP_MAGIC, CP_VERSION, PP_MAGIC, PP_VERSION = 0x464C434B, 5, 0x464C5054, 5
CP_SEG, CP_HDR, PP_SEG, PP_PORT, QCAP = 1200, 64, 144, 2304, 128


def up(x, a):
    return (x + a - 1) // a * a


def layout_sum(words):
    """chunk_pool.c's layout_sum: FNV-1a over each word's 8 bytes."""
    h = 0xcbf29ce484222325
    for w in words:
        for byte in struct.pack("<Q", w):
            h = ((h ^ byte) * 0x100000001b3) % (1 << 64)
    return h


def chunks_dat(cfg):
    """A fresh chunks.dat: header and chunk headers (all zero, as are the
    payloads)."""
    classes = cfg[0]
    total = sum(c for _, c in classes)
    hdr_off = up(CP_SEG, 64)
    off, data_off = hdr_off + total * CP_HDR, []
    for size, count in classes:
        off = up(off, 64)
        data_off.append(off)
        off += size * count
    seg_size = up(off, 4096)
    b = bytearray(hdr_off + total * CP_HDR)
    struct.pack_into("<IIIIQQ", b, 0, CP_MAGIC, CP_VERSION, len(classes), total, seg_size,
                     hdr_off)
    first, words = 0, [len(classes), total, seg_size, hdr_off]
    for i, (size, count) in enumerate(classes):
        struct.pack_into("<IIIIQ", b, 32 + 72 * i, size, count, first, 0, data_off[i])
        words += [size, count, first, data_off[i]]
        first += count
    struct.pack_into("<Q", b, 1192, layout_sum(words))
    return b, hdr_off


# A chunk header's fields: offset in the header and struct format.  A
# format of more than one value takes a tuple (reply: port, generation).
HDR_FIELDS = {
    "state": (0, "<Q"),
    "owner": (8, "<Q"),
    "mark": (20, "<I"),
    "length": (32, "<I"),
    "reply": (36, "<II"),
    "dest_gen": (44, "<I"),
    "deadline": (48, "<Q"),
    "sender": (56, "<Q"),
}


def set_hdr(b, hdr_off, i, **fields):
    """Sets the named fields (HDR_FIELDS) of chunk header i."""
    h = hdr_off + i * CP_HDR
    for name, value in fields.items():
        at, fmt = HDR_FIELDS[name]
        struct.pack_into(fmt, b, h + at, *(value if isinstance(value, tuple) else (value,)))


def ports_dat(cfg):
    """A fresh ports.dat: header and every port (free, empty queue: all
    zero, a cell's sequence stored less its index)."""
    ns, nc = cfg[1], cfg[2]
    off0 = up(PP_SEG, 64)
    off1 = off0 + ns * PP_PORT
    size = up(off1 + nc * PP_PORT, 4096)
    b = bytearray(off1 + nc * PP_PORT)
    struct.pack_into("<IIQ", b, 0, PP_MAGIC, PP_VERSION, size)
    # Each table's high mark (one past the highest port ever taken): all
    # of it, as a segment whose every port was used once would have.
    struct.pack_into("<IIQQ", b, 16, ns, 0, off0, ns)
    struct.pack_into("<IIQQ", b, 16 + 56, nc, 0, off1, nc)
    return b, off0, off1


def set_port(b, port_off, owner=0, state=0, gen=0, service=b"", enq=None, deq=None,
             cells=()):
    struct.pack_into("<QII", b, port_off, owner, state, gen)
    b[port_off + 16:port_off + 16 + len(service)] = service
    q = port_off + 128
    if enq is not None:
        struct.pack_into("<Q", b, q, enq)
    if deq is not None:
        struct.pack_into("<Q", b, q + 64, deq)
    for c, seq, val in cells:
        struct.pack_into("<QQ", b, q + 128 + 16 * c, (seq - c) % (1 << 64), val)


def entry(index, gen):
    return gen << 32 | index


def ops_mode(cfg_i):
    return bytes([cfg_i << 2])


def prefix_mode(cfg_i, ports=False):
    return bytes([1 | (2 if ports else 0) | cfg_i << 2])


# ops (rr_fuzz.c run_ops)
def o_bytes(seg, off, data):
    return bytes([0, seg]) + struct.pack("<HB", off, len(data)) + data


def o_word(seg, off8, sel, raw=b""):
    return bytes([1, seg]) + struct.pack("<HB", off8, sel) + raw


def o_open(slot, owner):
    return bytes([2, slot, owner])


def o_loan(slot, n):
    return bytes([3, slot]) + struct.pack("<H", n)


def o_release(slot, i, again=0):
    return bytes([4, slot, i, again])


def o_forged(slot, index, gen_sel, raw_gen=None):
    b = bytes([5, slot]) + struct.pack("<HB", index, gen_sel)
    return b + (struct.pack("<I", raw_gen) if raw_gen is not None else b"")


def o_resolve(op, slot, index, gen_sel):
    return bytes([op, slot]) + struct.pack("<HB", index, gen_sel)


def o_server(slot, i, svc=0):
    return bytes([8, slot, i, svc])


def o_client(slot, i, svc=0):
    return bytes([9, slot, i, svc])


def o_send(slot, i, held, expired=0):
    return bytes([10, slot, i, held, expired])


def o_serve(slot, i):
    return bytes([11, slot, i])


def o_take(slot, i):
    return bytes([12, slot, i])


def o_close(slot, i, client):
    return bytes([13, slot, i, client])


O_REPAIR = bytes([14])


def o_kill(slot):
    return bytes([15, slot])


def o_reclaim(owner_sel):
    return bytes([15, 0x80 | owner_sel])


roundtrip = (o_open(0, 0) + o_open(1, 1) + o_server(0, 0) + o_client(1, 0)
             + o_loan(1, 40) + o_loan(1, 1000) + o_send(1, 0, 0) + o_send(1, 0, 1)
             + o_serve(0, 0) + o_serve(0, 0) + o_take(1, 0) + o_take(1, 0) + O_REPAIR
             + o_close(1, 0, 1) + o_close(0, 0, 0) + O_REPAIR)

rr = {}
rr["ops-roundtrip"] = ops_mode(0) + roundtrip
# A client dies with a request queued at a server and chunks loaned; the
# driver reclaims it; the server takes what is left.
rr["ops-crash-reclaim"] = (
    ops_mode(1) + o_open(0, 0) + o_open(1, 1) + o_server(0, 0) + o_server(0, 1, 0)
    + o_client(1, 0) + o_client(1, 1, 1) + o_loan(1, 10) + o_loan(1, 30) + o_loan(1, 3000)
    + o_send(1, 0, 0) + o_send(1, 0, 1, 1) + o_kill(1) + O_REPAIR + o_serve(0, 0)
    + o_serve(0, 1) + o_reclaim(5) + o_kill(0) + O_REPAIR)
# Double and forged releases, resolves and takes of wrong generations
# and indices past the end.
rr["ops-forged"] = (
    ops_mode(2) + o_open(0, 0) + o_loan(0, 100) + o_loan(0, 1) + o_release(0, 0, 1)
    + o_release(0, 0) + o_forged(0, 1, 1) + o_forged(0, 1, 0) + o_forged(0, 9999, 0xf0,
                                                                            0xffffffff)
    + o_resolve(6, 0, 1, 1) + o_resolve(6, 0, 0, 2) + o_resolve(6, 0, 17, 1)
    + o_resolve(7, 0, 1, 1) + o_resolve(7, 1, 2, 1) + O_REPAIR)
# Words over both headers (magic, class counts, data offsets, a port
# table's count and offset) and a port queue's indices: a client cannot
# open until the driver's repair, then the round trip.
b, hdr_off = chunks_dat(CFGS[0])
rr["ops-wild-words"] = (
    ops_mode(0) + o_open(0, 0) + o_word(0, 0, 2) + o_word(0, 5, 6) + o_word(0, 6, 5)
    + o_word(0, (32 + 72 + 16) // 8, 0) + o_word(1, 2, 4) + o_word(1, 3, 3)
    + o_word(1, (192 + 128) // 8, 7) + o_word(1, (192 + 128 + 64) // 8, 2)
    + o_word(0, hdr_off // 8, 9, struct.pack("<Q", 1)) + o_open(1, 1) + O_REPAIR
    + o_open(1, 1) + roundtrip[6:]
    + o_bytes(0, hdr_off + 20, b"\x07\x00\x00\x00") + o_loan(1, 8) + o_resolve(6, 1, 0, 1)
    + O_REPAIR)
# The owner words of a whole class set to a live client's id, then the
# driver's own id, before loans and reclaims.
rr["ops-owners"] = (
    ops_mode(3) + o_open(0, 0) + o_word(0, hdr_off // 8 + 1, 8, b"\x00") + o_loan(0, 8)
    + o_reclaim(0x70) + o_word(0, hdr_off // 8, 1) + o_loan(0, 8) + o_kill(0)
    + o_open(0, 0xf0) + o_loan(0, 8) + o_kill(0) + O_REPAIR)

for i in range(4):
    b, _ = chunks_dat(CFGS[i])
    rr[f"prefix-chunks-clean-{i}"] = prefix_mode(i) + bytes(b)
b, _, _ = ports_dat(CFGS[3])
rr["prefix-ports-clean"] = prefix_mode(3, True) + bytes(b)
# Chunk headers as dead clients left them: loaned, mid-loan, in transit,
# a refcount without an owner, a stray mark, a length past the class.
b, hdr_off = chunks_dat(CFGS[0])
set_hdr(b, hdr_off, 0, state=(3 << 32) | 1, owner=7, length=64)
set_hdr(b, hdr_off, 1, state=(5 << 32), owner=7)
set_hdr(b, hdr_off, 2, state=(1 << 32) | 2, owner=8, sender=7, dest_gen=0, reply=(1, 0))
set_hdr(b, hdr_off, 3, state=1)
set_hdr(b, hdr_off, 4, mark=1)
set_hdr(b, hdr_off, 8, state=(9 << 32) | 1, owner=9, length=0xffffffff)
set_hdr(b, hdr_off, 9, state=(1 << 32) | 1, owner=9, sender=(1 << 64) - 1)
rr["prefix-chunks-dead-owners"] = prefix_mode(0) + bytes(b)
# A layout that fails validation: a class past the end of the segment.
b, hdr_off = chunks_dat(CFGS[0])
struct.pack_into("<Q", b, 32 + 72 + 16, 1 << 40)
rr["prefix-chunks-bad-class"] = prefix_mode(0) + bytes(b)
# Ports of dead owners with queued entries, holes and taken cells; a
# queue whose indices are far apart.
b, off0, off1 = ports_dat(CFGS[0])
set_port(b, off0, owner=7, state=1, gen=3, service=b"svc", enq=2, deq=0,
         cells=[(0, 1, entry(0, 3)), (1, 1 | (1 << 63), 0)])
set_port(b, off0 + PP_PORT, owner=9, state=2, gen=1, service=b"svc", enq=1 << 40, deq=5,
         cells=[(5, 6, entry(12, 0)), (6, 7, entry(99, 1))])
set_port(b, off1, owner=8, state=1, gen=0, enq=130, deq=129,
         cells=[(1, 130, entry(8, 9)), (0, 129, 0)])
rr["prefix-ports-dead-owners"] = prefix_mode(0, True) + bytes(b)


def main():
    for name, files in (("driver", driver), ("rr", rr)):
        d = os.path.join(HERE, "corpus", name)
        os.makedirs(d, exist_ok=True)
        for fname, blob in files.items():
            with open(os.path.join(d, fname), "wb") as f:
                f.write(blob)
        print(f"{d}: {len(files)} inputs")


if __name__ == "__main__":
    main()
