# What every check needs, MicroPython and CPython alike: bytes as hex text, and JSON-safe values
# (JSON cannot carry inf and nan; MicroPython's json.dumps would write them as bare inf, nan).
import binascii


def hx(data):
    return binascii.hexlify(bytes(data)).decode()


def unhex(text):
    return binascii.unhexlify(text)


def canon(v):
    if isinstance(v, float) and (v != v or v in (float("inf"), -float("inf"))):
        return "nan" if v != v else ("inf" if v > 0 else "-inf")
    if isinstance(v, (list, tuple)):
        return [canon(x) for x in v]
    if isinstance(v, dict):
        return dict([(k, canon(v[k])) for k in v])
    return v
