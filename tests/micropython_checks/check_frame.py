# The serial framing (firmware/frame.py): encode, the CRC, the streaming parser on streams of
# frames, text, noise, damaged and cut frames fed in pieces, and the JSON + NUL + data payloads.
import binascii

import frame
from checks import canon, hx, unhex


def event(ev):
    if ev[0] == frame.FRAME:
        return [ev[0], ev[1], ev[2], hx(ev[3])]
    return list(ev)


def drain(parser, data, cuts):
    # as the firmware feeds it: pieces as they arrive, then the stale timeout's abandon()
    got = []
    at = 0
    for cut in sorted(cuts) + [len(data)]:
        piece = data[at:cut]
        at = max(at, cut)
        while piece:
            taken = parser.feed(piece)
            piece = piece[taken:]
            ev = parser.next()
            while ev is not None:
                got.append(event(ev))
                ev = parser.next()
    while parser.pending():
        ev = parser.abandon()
        if ev is None:
            break
        got.append(event(ev))
        ev = parser.next()
        while ev is not None:
            got.append(event(ev))
            ev = parser.next()
    return got


def run(inputs):
    out = {"encode": [], "crc": [], "streams": [], "split": [], "with_data": []}
    for mtype, seq, payload in inputs["encode"]:
        try:
            out["encode"].append(hx(frame.encode(mtype, seq, unhex(payload))))
        except ValueError as e:
            out["encode"].append("ValueError: %s" % e)
    for text in inputs["crc"]:
        data = unhex(text)
        half = len(data) // 2
        out["crc"].append([binascii.crc32(data), frame._crc32_soft(data),
                           frame._crc32_soft(data[half:], frame._crc32_soft(data[:half])),
                           frame.checksum(data[:half], data[half:])])
    for case in inputs["streams"]:
        parser = frame.Parser(case["max_payload"])
        events = drain(parser, unhex(case["data"]), case["cuts"])
        out["streams"].append([events, parser.skipped, parser.pending(), parser.space()])
    for text in inputs["split"]:
        head, data = frame.split_data(unhex(text))
        out["split"].append([canon(head), hx(data)])
    out["with_data_bytes"] = []  # the JSON text: the interpreter's own (dict order, non-ASCII)
    for head, data in inputs["with_data"]:
        payload = frame.with_data(head, unhex(data))
        back = frame.split_data(payload)
        out["with_data"].append([back[0], hx(back[1])])
        out["with_data_bytes"].append(hx(payload))
    out["constants"] = [frame.MAGIC[0], frame.MAGIC[1], frame.OVERHEAD, frame.MAX_PAYLOAD, frame.REPLY,
                        sorted(frame.NAMES.items()), sorted(frame.ERROR_NAMES.items())]
    return out
