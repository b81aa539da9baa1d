#!/usr/bin/env python3
"""Write a tiny MaxMind DB (GeoIP2-City layout, IPv4) for spelunk's iplocation golden case.

Usage: make_test_mmdb.py OUT.mmdb
Networks (documentation ranges, RFC 5737): 203.0.113.0/24 (a city in the United States) and
198.51.100.0/24 (a country only). The format follows the MaxMind DB specification: a binary search tree of
24-bit records, 16 zero bytes, the data section, then the metadata after its marker.
"""
import struct, sys

def ctrl(t, size):
    out = b''
    if t <= 7:
        first = t << 5
    else:
        first = 0
    if size < 29:
        first |= size; extra = b''
    elif size < 29 + 256:
        first |= 29; extra = bytes([size - 29])
    else:
        first |= 30; extra = struct.pack('>H', size - 285)
    out = bytes([first])
    if t > 7:
        out += bytes([t - 7])
    return out + extra

def enc(v):
    if isinstance(v, str):
        b = v.encode(); return ctrl(2, len(b)) + b
    if isinstance(v, float):
        return ctrl(3, 8) + struct.pack('>d', v)
    if isinstance(v, bool):
        return ctrl(14, 1 if v else 0)
    if isinstance(v, int):
        if v < 0x10000:
            b = v.to_bytes(2, 'big').lstrip(b'\0'); return ctrl(5, len(b)) + b
        b = v.to_bytes(8, 'big').lstrip(b'\0'); return ctrl(9, len(b)) + b
    if isinstance(v, dict):
        out = ctrl(7, len(v))
        for k, x in v.items(): out += enc(k) + enc(x)
        return out
    if isinstance(v, list):
        out = ctrl(11, len(v))
        for x in v: out += enc(x)
        return out
    raise TypeError(v)

networks = [
    ((203, 0, 113, 0), 24, {
        "city": {"names": {"en": "Springfield"}},
        "continent": {"code": "NA", "names": {"en": "North America"}},
        "country": {"iso_code": "US", "names": {"en": "United States"}},
        "location": {"latitude": 39.8, "longitude": -89.65, "metro_code": 648, "time_zone": "America/Chicago"},
        "subdivisions": [{"iso_code": "IL", "names": {"en": "Illinois"}}],
    }),
    ((198, 51, 100, 0), 24, {
        "continent": {"code": "EU", "names": {"en": "Europe"}},
        "country": {"iso_code": "DE", "names": {"en": "Germany"}},
        "location": {"latitude": 51.0, "longitude": 9.0, "time_zone": "Europe/Berlin"},
    }),
]

data = b''
offsets = []
for _, _, rec in networks:
    offsets.append(len(data)); data += enc(rec)

# trie: node = [left, right]; entries are node indexes, ('data', i) or None
nodes = [[None, None]]
for n, ((a, b, c, d), plen, _) in enumerate(networks):
    ip = (a << 24) | (b << 16) | (c << 8) | d
    cur = 0
    for i in range(plen):
        bit = (ip >> (31 - i)) & 1
        if i == plen - 1:
            nodes[cur][bit] = ('data', n)
        else:
            if not isinstance(nodes[cur][bit], int):
                nodes.append([None, None]); nodes[cur][bit] = len(nodes) - 1
            cur = nodes[cur][bit]
count = len(nodes)
def rec(x):
    if x is None: return count
    if isinstance(x, int): return x
    return count + 16 + offsets[x[1]]
tree = b''.join(rec(l).to_bytes(3, 'big') + rec(r).to_bytes(3, 'big') for l, r in nodes)
meta = {"binary_format_major_version": 2, "binary_format_minor_version": 0, "build_epoch": 1710000000,
        "database_type": "GeoIP2-City", "description": {"en": "spelunk test database"}, "ip_version": 4,
        "languages": ["en"], "node_count": count, "record_size": 24}
out = tree + b'\0' * 16 + data + b'\xab\xcd\xefMaxMind.com' + enc(meta)
open(sys.argv[1], 'wb').write(out)
